using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using DuckDB.NET.Data;

namespace Flywheel.Parquet.Tests;

/// <summary>
/// DuckDB (in process, through DuckDB.NET) as an independent reader: <c>read_parquet</c> reads the file, and each row
/// comes back in <see cref="Canon"/>'s form. DuckDB.NET cannot hand over a null inside a list of numbers nested in a
/// struct, nor a timestamp outside DateTime's range, so the query repackages values first, by the column's DuckDB
/// type: list elements wrapped in a one-field struct, maps as their entries, timestamps as epoch microseconds. Only
/// the packaging changes; DuckDB decodes every value.
/// </summary>
internal static class DuckDbJudge
{
    /// <summary>
    /// Why DuckDB.NET's native library cannot load here, or null: it is tried once, because after a failed load the
    /// next connection hangs the test run instead of failing it.
    /// </summary>
    private static readonly Lazy<Exception?> LoadError = new(() =>
    {
        try
        {
            using var connection = new DuckDBConnection("DataSource=:memory:");
            connection.Open();
            return null;
        }
        catch (Exception e) when (e is DllNotFoundException or TypeInitializationException or BadImageFormatException)
        {
            return e;
        }
    });

    /// <summary>The file's rows as canonical JSON lines; throws where DuckDB cannot read it.</summary>
    public static List<string> Read(string path)
    {
        if (LoadError.Value is { } error)
        {
            throw new InvalidOperationException("DuckDB.NET's native library does not load", error);
        }

        using var connection = new DuckDBConnection("DataSource=:memory:");
        connection.Open();
        string source = $"read_parquet({Literal(path)})";
        var columns = new List<(string Name, DuckType Type)>();
        using (var describe = connection.CreateCommand())
        {
            describe.CommandText = $"DESCRIBE SELECT * FROM {source}";
            using var r = describe.ExecuteReader();
            while (r.Read())
            {
                columns.Add((r.GetString(0), DuckType.Parse(r.GetString(1))));
            }
        }

        using var query = connection.CreateCommand();
        query.CommandText = "SELECT " + string.Join(", ", columns.Select(c => c.Type.Repackage(Identifier(c.Name), 0))) + " FROM " + source;
        using var reader = query.ExecuteReader();
        var lines = new List<string>();
        while (reader.Read())
        {
            var row = Canon.Struct(columns.Select((c, i) => KeyValuePair.Create(c.Name, c.Type.Canonical(reader.IsDBNull(i) ? null : reader.GetValue(i)))));
            lines.Add(row.ToJsonString());
        }

        return lines;
    }

    private static string Literal(string s) => "'" + s.Replace("'", "''", StringComparison.Ordinal) + "'";

    private static string Identifier(string s) => "\"" + s.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

    /// <summary>A DuckDB type as DESCRIBE spells it: a name, a list of one (T[] or T[n]), a STRUCT or a MAP.</summary>
    private sealed record DuckType(string Name, DuckType? Element = null, IReadOnlyList<(string Name, DuckType Type)>? Fields = null)
    {
        private bool IsTimestamp => Name.StartsWith("TIMESTAMP", StringComparison.Ordinal);

        public static DuckType Parse(string text)
        {
            int i = 0;
            var t = Parse(text, ref i);
            return i == text.Length ? t : throw new FormatException($"unparsed DuckDB type '{text}' at {i}");
        }

        private static DuckType Parse(string s, ref int i)
        {
            DuckType t;
            if (s.AsSpan(i).StartsWith("STRUCT(") || s.AsSpan(i).StartsWith("MAP("))
            {
                bool map = s[i] == 'M';
                i = s.IndexOf('(', i) + 1;
                var fields = new List<(string, DuckType)>();
                while (s[i] != ')')
                {
                    string name = map ? (fields.Count == 0 ? "key" : "value") : FieldName(s, ref i);
                    fields.Add((name, Parse(s, ref i)));
                    if (s[i] == ',')
                    {
                        i += 2;
                    }
                }

                i++;
                t = new DuckType(map ? "MAP" : "STRUCT", Fields: fields);
            }
            else
            {
                // A scalar name, with spaces (TIMESTAMP WITH TIME ZONE) or arguments (DECIMAL(9,2)).
                int start = i;
                for (int depth = 0; i < s.Length && (depth > 0 || s[i] is not (',' or ')' or '[')); i++)
                {
                    depth += s[i] == '(' ? 1 : s[i] == ')' ? -1 : 0;
                }

                t = new DuckType(s[start..i]);
            }

            while (i < s.Length && s[i] == '[')
            {
                i = s.IndexOf(']', i) + 1;
                t = new DuckType("LIST", Element: t);
            }

            return t;
        }

        private static string FieldName(string s, ref int i)
        {
            var name = new StringBuilder();
            if (s[i] == '"')
            {
                // A quoted name: "" stands for one quote.
                for (i++; s[i] != '"' || (i + 1 < s.Length && s[i + 1] == '"'); i++)
                {
                    i += s[i] == '"' ? 1 : 0;
                    name.Append(s[i]);
                }

                i++;
            }
            else
            {
                for (; s[i] != ' '; i++)
                {
                    name.Append(s[i]);
                }
            }

            i++;
            return name.ToString();
        }

        /// <summary>The SQL that gives this type's value at <paramref name="e"/> in a form DuckDB.NET can hand over.</summary>
        public string Repackage(string e, int depth)
        {
            string x = "x" + depth.ToString(CultureInfo.InvariantCulture);
            return Name switch
            {
                "LIST" => $"list_transform({e}, {x} -> {{'v': {Element!.Repackage(x, depth + 1)}}})",
                "MAP" => $"list_transform(map_entries({e}), {x} -> {{'key': {Fields![0].Type.Repackage(x + ".key", depth + 1)}, 'value': {Fields[1].Type.Repackage(x + ".value", depth + 1)}}})",
                "STRUCT" => $"CASE WHEN {e} IS NULL THEN NULL ELSE {{{string.Join(", ", Fields!.Select(f => $"{Literal(f.Name)}: {f.Type.Repackage($"struct_extract({e}, {Literal(f.Name)})", depth)}"))}}} END",
                _ when IsTimestamp => $"epoch_us({e})",
                _ => e,
            };
        }

        /// <summary>The canonical JSON of a value that <see cref="Repackage"/> packed.</summary>
        public JsonNode? Canonical(object? v)
        {
            if (v is null or DBNull)
            {
                return null;
            }

            switch (Name)
            {
                case "LIST":
                    return new JsonArray([.. ((System.Collections.IEnumerable)v).Cast<IDictionary<string, object?>>().Select(w => Element!.Canonical(w["v"]))]);
                case "MAP":
                    return new JsonArray([.. ((System.Collections.IEnumerable)v).Cast<IDictionary<string, object?>>().Select(kv =>
                        Canon.Struct([KeyValuePair.Create("key", Fields![0].Type.Canonical(kv["key"])), KeyValuePair.Create("value", Fields[1].Type.Canonical(kv["value"]))]))]);
                case "STRUCT":
                    var s = (IDictionary<string, object?>)v;
                    return Canon.Struct(Fields!.Select(f => KeyValuePair.Create(f.Name, f.Type.Canonical(s[f.Name]))));
                case "BLOB":
                    using (var stream = (Stream)v)
                    using (var bytes = new MemoryStream())
                    {
                        stream.CopyTo(bytes);
                        return Canon.Of(bytes.ToArray());
                    }

                default:
                    return IsTimestamp ? Canon.Micros((long)v) : Canon.Of(v);
            }
        }
    }
}
