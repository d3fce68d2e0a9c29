using Flywheel.Llama;
using Flywheel.Llama.Gguf;
using Spectre.Console;

namespace Flywheel.Cli.Inspect;

/// <summary>Metadata and tensors of a GGUF file, read with the managed reader (no weights are loaded).</summary>
internal static class GgufInspector
{
    public static void Show(CliConsole console, string path, bool json)
    {
        var file = GgufFile.Open(path);
        if (json)
        {
            console.WriteJson(new
            {
                File = path,
                file.Version,
                file.Alignment,
                Metadata = file.Metadata.ToDictionary(kv => kv.Key, kv => kv.Value.Value),
                Tensors = file.Tensors.Select(t => new { t.Name, Type = t.Type.ToString(), t.Shape, t.Offset, Bytes = t.ByteSize }),
            });
            return;
        }
        var ansi = console.Ansi;
        long parameters = file.Tensors.Sum(t => t.ElementCount);
        ansi.MarkupLine($"[bold]{Markup.Escape(path)}[/]: GGUF v{file.Version}, {file.Metadata.Count} metadata keys, {file.Tensors.Count} tensors, {parameters:N0} parameters");
        var meta = new Table().AddColumns("key", "type", "value");
        foreach (var (key, value) in file.Metadata)
        {
            string type = value.Type == GgufValueType.Array ? $"{value.ElementType}[]" : value.Type.ToString();
            meta.AddRow(Markup.Escape(key), Markup.Escape(type), Markup.Escape(value.ToString()));
        }
        ansi.Write(meta);
        var tensors = new Table().AddColumns("tensor", "type", "shape", "bytes");
        foreach (var t in file.Tensors) tensors.AddRow(Markup.Escape(t.Name), t.Type.ToString(), string.Join(" × ", t.Shape), t.ByteSize.ToString("N0"));
        ansi.Write(tensors);
    }

    public static void Tokenize(CliConsole console, string path, string text, bool json)
    {
        using var model = LlamaModel.Load(path, new ModelOptions { VocabularyOnly = true });
        var tokens = model.Vocabulary.Tokenize(text, addSpecial: false, parseSpecial: false);
        if (json)
        {
            console.WriteJson(new { Text = text, Tokens = tokens, Pieces = tokens.Select(t => model.Vocabulary.TokenText(t)) });
            return;
        }
        console.Out.WriteLine(string.Join(' ', tokens));
    }
}
