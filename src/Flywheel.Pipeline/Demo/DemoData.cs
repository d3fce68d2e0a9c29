using Flywheel.Files;
using System.Text;
using System.Text.Json;
using Flywheel.Pipeline.Runs;

namespace Flywheel.Pipeline.Demo;

/// <summary>A row of the pretraining corpus: a problem and the answer it is shown with (wrong for a fraction of rows).</summary>
internal sealed record CorpusRow(ArithmeticProblem Problem, string Shown)
{
    internal bool IsCorrect => Shown == Problem.Answer;
}

/// <summary>The demo's problems split into disjoint sets: pretraining pool, annotation, selection and evaluation prompts.</summary>
internal sealed record DemoProblemSets(
    IReadOnlyList<ArithmeticProblem> Pretraining,
    IReadOnlyList<ArithmeticProblem> Annotation,
    IReadOnlyList<ArithmeticProblem> Selection,
    IReadOnlyList<ArithmeticProblem> Evaluation);

/// <summary>Seeded generation of the demo's prompt sets and of its deliberately imperfect pretraining corpus.</summary>
internal static class DemoData
{
    internal static DemoProblemSets Split(DemoRecipe recipe)
    {
        var problems = recipe.Task.All().ToArray();
        new DemoRandom(recipe.DataSeed).Shuffle(problems);
        int a = recipe.AnnotationPrompts, s = recipe.SelectionPrompts, e = recipe.EvaluationPrompts;
        if (a + s + e >= problems.Length) throw new ArgumentException($"the task has only {problems.Length} problems for {a + s + e} prompts");
        return new DemoProblemSets(problems[(a + s + e)..], problems[..a], problems[a..(a + s)], problems[(a + s)..(a + s + e)]);
    }

    /// <summary>
    /// <see cref="DemoRecipe.CorpusRows"/> rows drawn from the pretraining pool, each wrong with probability
    /// <see cref="DemoRecipe.CorpusErrorRate"/> independently, so a problem drawn twice may be shown two answers.
    /// </summary>
    internal static IReadOnlyList<CorpusRow> Corpus(DemoRecipe recipe, IReadOnlyList<ArithmeticProblem> pool)
    {
        var random = new DemoRandom(recipe.DataSeed ^ 0xC0FFEEUL);
        var rows = new CorpusRow[recipe.CorpusRows];
        for (int i = 0; i < rows.Length; i++)
        {
            var problem = pool[random.Next(pool.Count)];
            bool wrong = random.NextDouble() < recipe.CorpusErrorRate;
            rows[i] = new CorpusRow(problem, wrong ? WrongAnswer(problem, random) : problem.Answer);
        }
        return rows;
    }

    /// <summary>
    /// A slip of the pen: a digit dropped, a digit written twice, or a stray zero. Such slips change the answer's
    /// length, a cue a reward model initialised from a ~100k-parameter policy learns from a few hundred pairs (it
    /// does not learn to recheck sums: near misses such as ±1 stayed at ~60% held-out accuracy in the experiment).
    /// </summary>
    private static string WrongAnswer(ArithmeticProblem problem, DemoRandom random)
    {
        string answer = problem.Answer;
        int at = random.Next(answer.Length);
        return random.Next(3) switch
        {
            0 when answer.Length > 1 => answer.Remove(at, 1),
            0 or 1 => answer.Insert(at, answer[at].ToString()),
            _ => answer + "0",
        };
    }

    /// <summary>Prompt rows as the pipeline's prompt reader takes them: one {"id", "prompt", "answer"} object per line.</summary>
    internal static void WritePrompts(string path, IEnumerable<ArithmeticProblem> problems)
    {
        var text = new StringBuilder();
        foreach (var p in problems)
            text.Append(JsonSerializer.Serialize(new PromptLine(p.Id, p.Prompt, p.Answer), DemoJson.Readable.PromptLine)).Append('\n');
        AtomicFile.WriteAllText(path, text.ToString());
    }

    internal static IReadOnlyList<PromptLine> ReadPrompts(string path) =>
        File.ReadLines(path).Where(l => l.Length > 0)
            .Select(l => JsonSerializer.Deserialize(l, DemoJson.Readable.PromptLine) ?? throw new InvalidDataException($"{path}: a null row"))
            .ToList();
}

internal sealed record PromptLine(string Id, string Prompt, string Answer);
