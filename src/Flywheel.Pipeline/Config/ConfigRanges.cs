using System.Collections;
using System.Reflection;
using System.Text.Json.Serialization;
using Flywheel.Training;

namespace Flywheel.Pipeline.Config;

/// <summary>
/// Checks every value of a config against the range its property declares (<see cref="System.ComponentModel.DataAnnotations.RangeAttribute"/>,
/// also what flywheel.schema.json states), naming each by its JSON path: <c>$.sampling.k: must be ≥ 1, got 0</c>.
/// Options of the trainer's own (LoRA's) are checked by their own Validate, with the same attributes.
/// </summary>
internal static class ConfigRanges
{
    public static IEnumerable<string> Violations(object section, string path)
    {
        foreach (var (property, violation) in ValueRanges.Violations(section))
            yield return $"{path}.{Name(property)}: {violation}";
        foreach (var property in section.GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (property.GetCustomAttribute<JsonIgnoreAttribute>() is not null) continue;
            switch (property.GetValue(section))
            {
                case IList list:
                    for (int i = 0; i < list.Count; i++)
                        if (list[i] is { } item && IsSection(item.GetType()))
                            foreach (var v in Violations(item, $"{path}.{Name(property)}[{i}]")) yield return v;
                    break;
                case { } child when IsSection(child.GetType()):
                    foreach (var v in Violations(child, $"{path}.{Name(property)}")) yield return v;
                    break;
            }
        }
    }

    // A list is walked item by item and never taken for a section: walking its own properties would not end (its
    // SyncRoot is itself), as it did for sampling.endpoints.
    private static bool IsSection(Type type) => type.Namespace == typeof(FlywheelConfig).Namespace && type.IsClass && !typeof(IEnumerable).IsAssignableFrom(type);

    private static string Name(PropertyInfo property) => ConfigLoader.Json.PropertyNamingPolicy!.ConvertName(property.Name);
}
