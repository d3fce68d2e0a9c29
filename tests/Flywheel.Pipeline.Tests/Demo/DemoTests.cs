using Flywheel.Llama.Gguf;
using Flywheel.Pipeline.Config;
using Flywheel.Pipeline.Demo;

namespace Flywheel.Pipeline.Tests.Demo;

public class DemoTests
{
    private static readonly string Committed = Path.Combine(RepositoryRoot(), "data", "demo");

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Flywheel.sln"))) return dir.FullName;
        throw new DirectoryNotFoundException("no Flywheel.sln above the test binaries");
    }

    [Fact]
    public void Answers_are_the_values_of_the_expressions()
    {
        Assert.Equal("0", new ArithmeticProblem("3+5-8").Answer);
        Assert.Equal("68", new ArithmeticProblem("23+45").Answer);
        Assert.Equal("23+45=", new ArithmeticProblem("23+45").Prompt);
        Assert.Equal(1980, DemoRecipe.Default.Task.All().Count()); // 36 pairs of tens digits × 55 pairs of units digits
        foreach (var p in DemoRecipe.Default.Task.All())
        {
            // An independent evaluation: operands at even positions, operators between them.
            var tokens = System.Text.RegularExpressions.Regex.Split(p.Expression, "([+-])");
            int value = int.Parse(tokens[0]);
            for (int i = 1; i < tokens.Length; i += 2) value += (tokens[i] == "+" ? 1 : -1) * int.Parse(tokens[i + 1]);
            Assert.Equal(value.ToString(), p.Answer);
            Assert.Matches("^[1-9][0-9]\\+[1-9][0-9]$", p.Expression);
            Assert.True(tokens[0][0] + tokens[2][0] - 2 * '0' <= 9 && tokens[0][1] + tokens[2][1] - 2 * '0' <= 9, $"{p.Expression} carries");
        }
    }

    [Fact]
    public void The_verifier_takes_the_answer_with_surrounding_whitespace_only()
    {
        Assert.True(ArithmeticTask.IsCorrect(" 12\n", "12"));
        Assert.False(ArithmeticTask.IsCorrect("12.", "12"));
        Assert.False(ArithmeticTask.IsCorrect("1 2", "12"));
    }

    [Fact]
    public void Prompt_sets_are_disjoint_reproducible_and_sized_as_the_recipe_says()
    {
        var recipe = DemoRecipe.Default;
        var sets = DemoData.Split(recipe);
        Assert.Equal(sets, DemoData.Split(recipe), new SetsComparer());
        Assert.Equal(recipe.AnnotationPrompts, sets.Annotation.Count);
        Assert.Equal(recipe.SelectionPrompts, sets.Selection.Count);
        Assert.Equal(recipe.EvaluationPrompts, sets.Evaluation.Count);
        var all = new[] { sets.Pretraining, sets.Annotation, sets.Selection, sets.Evaluation }.SelectMany(s => s).Select(p => p.Prompt).ToList();
        Assert.Equal(all.Count, all.Distinct().Count());
        Assert.Equal(recipe.Task.All().Count(), all.Count);
        Assert.NotEqual(sets.Evaluation, DemoData.Split(recipe with { DataSeed = recipe.DataSeed + 1 }).Evaluation);
    }

    [Fact]
    public void The_corpus_is_wrong_at_the_intended_rate_by_slips_and_only_on_the_pretraining_pool()
    {
        var recipe = DemoRecipe.Default;
        var sets = DemoData.Split(recipe);
        var corpus = DemoData.Corpus(recipe, sets.Pretraining);
        Assert.Equal(recipe.CorpusRows, corpus.Count);
        Assert.Equal(corpus, DemoData.Corpus(recipe, sets.Pretraining));
        double wrong = corpus.Count(r => !r.IsCorrect) / (double)corpus.Count;
        Assert.InRange(wrong, recipe.CorpusErrorRate - 0.02, recipe.CorpusErrorRate + 0.02);
        // A dropped digit, a doubled digit or a stray zero: one digit more or less than the answer, digits only.
        foreach (var row in corpus.Where(r => !r.IsCorrect))
        {
            Assert.Equal(1, Math.Abs(row.Shown.Length - row.Problem.Answer.Length));
            Assert.Matches("^[0-9]+$", row.Shown);
        }
        Assert.Contains(corpus, r => r.Shown.Length < r.Problem.Answer.Length);
        Assert.Contains(corpus, r => r.Shown.Length > r.Problem.Answer.Length && !r.Shown.EndsWith('0'));
        Assert.Contains(corpus, r => r.Shown == r.Problem.Answer + "0");
        var pool = sets.Pretraining.ToHashSet();
        Assert.All(corpus, r => Assert.Contains(r.Problem, pool));
    }

    [Fact]
    public void The_committed_prompt_files_and_config_are_what_the_recipe_generates()
    {
        var sets = DemoData.Split(DemoRecipe.Default);
        string dir = Directory.CreateTempSubdirectory("flywheel-demo-test-").FullName;
        try
        {
            foreach (var (file, problems) in new[] { (DemoAssets.AnnotationFile, sets.Annotation), (DemoAssets.SelectionFile, sets.Selection), (DemoAssets.EvaluationFile, sets.Evaluation) })
            {
                DemoData.WritePrompts(Path.Combine(dir, file), problems);
                Assert.Equal(File.ReadAllBytes(Path.Combine(dir, file)), File.ReadAllBytes(Path.Combine(Committed, file)));
                var rows = DemoData.ReadPrompts(Path.Combine(Committed, file));
                Assert.Equal(problems.Select(p => new PromptLine(p.Id, p.Prompt, p.Answer)), rows);
            }
            Assert.Equal(DemoConfig.Json(), File.ReadAllBytes(Path.Combine(Committed, DemoAssets.ConfigFile)));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void The_recommended_config_is_a_valid_flywheel_config_pointing_at_the_demo_files()
    {
        var config = ConfigLoader.Resolve(ConfigLoader.Load(Path.Combine(Committed, DemoAssets.ConfigFile)));
        Assert.Equal(Path.Combine(Committed, DemoAssets.PolicyFile), config.Policy.Model);
        Assert.Equal(Path.Combine(Committed, DemoAssets.SelectionFile), config.Prompts.Path);
        Assert.Equal(Path.Combine(Committed, DemoAssets.AnnotationFile), config.Preferences[0].Annotator!.Prompts);
    }

    [Fact]
    public void The_committed_policy_has_the_recipes_shape()
    {
        var file = GgufFile.Open(Path.Combine(Committed, DemoAssets.PolicyFile));
        Assert.Equal(DemoRecipe.Default.Model, LlamaHyperparameters.FromGguf(file));
        Assert.True(new FileInfo(file.Path).Length < 2 << 20);
    }

    [Fact]
    public async Task Pretraining_is_reproducible_byte_for_byte()
    {
        // The committed policy takes minutes to regenerate (bench/Flywheel.Demo.Experiment -- regenerate checks it);
        // the same code on a small corpus shows that nothing in it depends on time, threads or the machine.
        var recipe = DemoRecipe.Default with { CorpusRows = 300, PretrainEpochs = 1 };
        string first = Directory.CreateTempSubdirectory("flywheel-demo-test-").FullName;
        string second = Directory.CreateTempSubdirectory("flywheel-demo-test-").FullName;
        try
        {
            var a = await DemoAssets.EnsureAsync(first, recipe, CancellationToken.None);
            var b = await DemoAssets.EnsureAsync(second, recipe, CancellationToken.None);
            foreach (var (x, y) in new[] { (a.Policy, b.Policy), (a.AnnotationPrompts, b.AnnotationPrompts), (a.Config, b.Config) })
                Assert.Equal(File.ReadAllBytes(x), File.ReadAllBytes(y));
            Assert.Empty(Directory.GetFiles(first, "*.tmp-*").Concat(Directory.GetFiles(first, "*.init-*")));
        }
        finally
        {
            Directory.Delete(first, recursive: true);
            Directory.Delete(second, recursive: true);
        }
    }

    private sealed class SetsComparer : IEqualityComparer<DemoProblemSets>
    {
        public bool Equals(DemoProblemSets? x, DemoProblemSets? y) =>
            x is not null && y is not null && x.Pretraining.SequenceEqual(y.Pretraining) && x.Annotation.SequenceEqual(y.Annotation)
            && x.Selection.SequenceEqual(y.Selection) && x.Evaluation.SequenceEqual(y.Evaluation);

        public int GetHashCode(DemoProblemSets obj) => obj.Evaluation.Count;
    }
}
