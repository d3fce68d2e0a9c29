using Flywheel.Llama.Chat;

namespace Flywheel.Pipeline.Config;

internal static class PolicyConfigExtensions
{
    /// <summary>The built-in template the config names, or null to use each model's own.</summary>
    public static ChatTemplate? NamedTemplate(this PolicyConfig policy) =>
        policy.ChatTemplate is { } name ? ChatTemplate.Named(name) : null;
}
