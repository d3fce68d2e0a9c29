using System.Text.Json;
using System.Text.Json.Nodes;
using Flywheel.Parquet;
using Flywheel.Pipeline.Stages;
using Xunit.Abstractions;

namespace Flywheel.Cli.Tests;

/// <summary>
/// Each shipped pipeline, as shipped, on a GGUF shaped like the model it names (random weights, the real vocabulary,
/// the chat template in the GGUF) for one round with its sizes cut down (prompt and pair counts, new tokens) and its
/// prompts, data and settings as they are.
/// </summary>
public class ShippedPipelinesTests(ITestOutputHelper output)
{
    private static string Root => Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "../../../../.."));

    [Theory]
    [InlineData("llama3-hh-rlhf.json", "llama3", "<|start_header_id|>user<|end_header_id|>")]
    [InlineData("mistral-hh-rlhf.json", "sentencepiece", "[INST]")]
    [InlineData("qwen2.5-gsm8k.json", "qwen2.5", "<|im_start|>user\n")]
    public async Task A_shipped_pipeline_runs_a_round_on_a_model_of_its_shape(string pipeline, string shape, string templateMark)
    {
        string root = CliRunner.TempDir();
        Directory.CreateSymbolicLink(Path.Combine(root, "data"), Path.Combine(Root, "data"));
        Directory.CreateDirectory(Path.Combine(root, "pipelines"));
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(Root, "pipelines", pipeline)), null,
            new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true })!.AsObject();
        string model = Path.GetFullPath(Path.Combine(root, "pipelines", (string)config["policy"]!["model"]!));
        Directory.CreateDirectory(Path.GetDirectoryName(model)!);
        Action<string> make = shape switch { "llama3" => ShapedModels.Llama3, "qwen2.5" => ShapedModels.Qwen25, _ => ShapedModels.SentencePiece };
        make(model);

        // Sizes cut down; everything else as shipped (the models have 4 layers, for train: last:4).
        const int prompts = 3;
        config["rounds"] = 1;
        config["device"] = "cpu";
        config["prompts"]!["limit"] = prompts;
        if (config["evaluation"] is JsonObject evaluation) evaluation["limit"] = 2;
        foreach (var source in config["preferences"]!.AsArray())
        {
            if (source!["annotator"] is JsonObject annotator) annotator["limit"] = 20;
            else source["limit"] = 40;
        }
        config["sampling"]!["max_new_tokens"] = 12;
        string path = Path.Combine(root, "pipelines", "cut-" + pipeline);
        File.WriteAllText(path, config.ToJsonString());

        string dir = Path.Combine(root, "run");
        var run = await CliRunner.RunAsync("run", "--config", path, "--run-dir", dir, "--quiet");
        output.WriteLine(run.Error);
        Assert.True(run.ExitCode == 0, run.Error);

        var options = new ParquetSerializerOptions { ColumnNaming = ColumnNaming.SnakeCase };
        var candidates = new List<CandidateRow>();
        await foreach (var row in ParquetSerializer.DeserializeAsync<CandidateRow>(Path.Combine(dir, "round-001", "candidates.parquet"), options)) candidates.Add(row);
        int k = (int)config["sampling"]!["k"]!;
        Assert.Equal(prompts * k, candidates.Count);
        Assert.All(candidates, c => Assert.Equal(c.Tokens, c.TokenIds.Count));
        // The template applied (the GGUF's own where the pipeline names none) shows in the prompt tokens as sampled.
        using (var policy = Flywheel.Llama.LlamaModel.Load(model, new Flywheel.Llama.ModelOptions { VocabularyOnly = true }))
            Assert.All(candidates, c => Assert.Contains(templateMark, policy.Vocabulary.Detokenize([.. c.PromptTokenIds], special: true)));
        var sft = new List<SftRow>();
        await foreach (var row in ParquetSerializer.DeserializeAsync<SftRow>(Path.Combine(dir, "round-001", "sft.parquet"), options)) sft.Add(row);
        Assert.NotEmpty(sft);
        Assert.True(File.Exists(Path.Combine(dir, "round-001", "policy.gguf")));
    }
}
