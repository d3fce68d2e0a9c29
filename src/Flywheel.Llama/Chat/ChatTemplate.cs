using System.Runtime.InteropServices;
using System.Text;
using LLama.Native;

namespace Flywheel.Llama.Chat;

/// <summary>One turn of a conversation.</summary>
public sealed record ChatMessage(string Role, string Content);

/// <summary>
/// Formats conversations into prompt text with llama.cpp's <c>llama_chat_apply_template</c>: either a model's own
/// template (recognised by llama.cpp's template detection) or one of its built-ins by name (chatml, llama3, …).
/// </summary>
public sealed unsafe class ChatTemplate
{
    private readonly byte[] _source;

    private ChatTemplate(string source, string description)
    {
        _source = Encoding.UTF8.GetBytes(source + "\0");
        Description = description;
    }

    /// <summary>The template's name or where it came from.</summary>
    public string Description { get; }

    private static long _applications;

    /// <summary>Conversations rendered by every template of the process so far: lets a test see how often a prompt is formatted.</summary>
    internal static long Applications => Interlocked.Read(ref _applications);

    /// <summary>The names of llama.cpp's built-in templates.</summary>
    public static IReadOnlyList<string> BuiltInNames
    {
        get
        {
            LlamaBackend.EnsureInitialized();
            // LLamaSharp declares the out-array as char**; llama.cpp fills it with UTF-8 C strings.
            int n = NativeApi.llama_chat_builtin_templates(null, 0);
            var names = new IntPtr[n];
            fixed (IntPtr* p = names) n = NativeApi.llama_chat_builtin_templates((char**)p, (nuint)n);
            return names.Take(n).Select(p => Marshal.PtrToStringUTF8(p)!).ToArray();
        }
    }

    /// <summary>A built-in template by name, such as "chatml" or "llama3".</summary>
    public static ChatTemplate Named(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (!BuiltInNames.Contains(name))
            throw new LlamaException($"unknown chat template '{name}'; built-in templates: {string.Join(", ", BuiltInNames)}");
        return new ChatTemplate(name, name);
    }

    /// <summary>The model's own template (tokenizer.chat_template).</summary>
    public static ChatTemplate FromModel(LlamaModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        string source = model.ChatTemplateSource ?? throw new LlamaException($"{model.Path}: the model has no chat template; name a built-in one (chatml, llama3, …)");
        var template = new ChatTemplate(source, $"{System.IO.Path.GetFileName(model.Path)}'s own");
        template.Apply([new ChatMessage("user", "x")]); // fail here, not at first use, when llama.cpp cannot recognise it
        return template;
    }

    /// <summary>Formats <paramref name="messages"/>; with <paramref name="addAssistantPrompt"/> the text ends where the assistant's reply begins.</summary>
    public string Apply(IReadOnlyList<ChatMessage> messages, bool addAssistantPrompt = true)
    {
        ArgumentNullException.ThrowIfNull(messages);
        LlamaBackend.EnsureInitialized();
        Interlocked.Increment(ref _applications);
        var handles = new List<GCHandle>(messages.Count * 2);
        try
        {
            var chat = new LLamaChatMessage[messages.Count];
            int total = 0;
            for (int i = 0; i < messages.Count; i++)
            {
                chat[i] = new LLamaChatMessage { role = Pin(messages[i].Role, handles), content = Pin(messages[i].Content, handles) };
                total += messages[i].Role.Length + messages[i].Content.Length;
            }
            var buffer = new byte[total * 4 + 256];
            fixed (byte* tmpl = _source)
            fixed (LLamaChatMessage* c = chat)
            {
                while (true)
                {
                    int n;
                    fixed (byte* b = buffer) n = NativeApi.llama_chat_apply_template(tmpl, c, (nuint)chat.Length, addAssistantPrompt, b, buffer.Length);
                    if (n < 0) throw new LlamaException($"chat template ({Description}) is not one llama.cpp supports; name a built-in one: {string.Join(", ", BuiltInNames)}");
                    if (n <= buffer.Length) return Encoding.UTF8.GetString(buffer, 0, n);
                    buffer = new byte[n];
                }
            }
        }
        finally
        {
            foreach (var h in handles) h.Free();
        }
    }

    private static byte* Pin(string s, List<GCHandle> handles)
    {
        ArgumentNullException.ThrowIfNull(s);
        var handle = GCHandle.Alloc(Encoding.UTF8.GetBytes(s + "\0"), GCHandleType.Pinned);
        handles.Add(handle);
        return (byte*)handle.AddrOfPinnedObject();
    }
}
