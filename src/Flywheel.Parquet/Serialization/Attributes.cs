namespace Flywheel.Parquet;

/// <summary>How property names become column names when no <see cref="ParquetColumnAttribute"/> says otherwise.</summary>
public enum ColumnNaming
{
    /// <summary>The property's name as declared.</summary>
    AsDeclared,

    /// <summary>snake_case: <c>PromptId</c> becomes <c>prompt_id</c>.</summary>
    SnakeCase,
}

/// <summary>Names the column a property is stored in.</summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Parameter)]
public sealed class ParquetColumnAttribute(string name) : Attribute
{
    public string Name { get; } = name;
}

/// <summary>Leaves a property out of the schema.</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class ParquetIgnoreAttribute : Attribute;
