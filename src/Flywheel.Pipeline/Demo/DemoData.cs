using System.Text;
using System.Text.Json;

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
    /// <summary>
    /// How wrong answers in the corpus are wrong: off by one or by ten, the slips people make. Near misses keep the
    /// correct answer the most likely single reply while leaving plenty of probability on wrong ones to sharpen away.
    /// </summary>
    private static readonly int[] ErrorOffsets = [-10, -1, 1, 10];

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

    private static string WrongAnswer(ArithmeticProblem problem, DemoRandom random)
    {
        while (true)
        {
            int value = problem.Value + ErrorOffsets[random.Next(ErrorOffsets.Length)];
            if (value >= 0) return value.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
    }

    /// <summary>Prompt rows as the pipeline's prompt reader takes them: one {"id", "prompt", "answer"} object per line.</summary>
    internal static void WritePrompts(string path, IEnumerable<ArithmeticProblem> problems)
    {
        var text = new StringBuilder();
        foreach (var p in problems)
            text.Append(JsonSerializer.Serialize(new PromptLine(p.Id, p.Prompt, p.Answer), DemoJson.Default.PromptLine)).Append('\n');
        AtomicWrite(path, Encoding.UTF8.GetBytes(text.ToString()));
    }

    internal static IReadOnlyList<PromptLine> ReadPrompts(string path) =>
        File.ReadLines(path).Where(l => l.Length > 0)
            .Select(l => JsonSerializer.Deserialize(l, DemoJson.Default.PromptLine) ?? throw new InvalidDataException($"{path}: a null row"))
            .ToList();

    /// <summary>Writes through a temporary file so that an interrupted run never leaves a half-written asset.</summary>
    internal static void AtomicWrite(string path, byte[] bytes)
    {
        string temporary = path + ".tmp-" + Environment.ProcessId;
        File.WriteAllBytes(temporary, bytes);
        File.Move(temporary, path, overwrite: true);
    }
}

internal sealed record PromptLine(string Id, string Prompt, string Answer);
