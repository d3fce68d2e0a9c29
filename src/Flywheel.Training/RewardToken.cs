using Flywheel.Llama;

namespace Flywheel.Training;

/// <summary>
/// The reward token's rule (see RewardModelOptions.RewardToken), shared by the trainer and the pipeline's check
/// before round 1: an id inside the vocabulary, or a text that is exactly one token of it.
/// </summary>
public static class RewardToken
{
    /// <summary>The token's id; <see cref="ArgumentException"/> where <paramref name="token"/> is not one token of <paramref name="vocabulary"/>.</summary>
    public static int Id(LlamaVocabulary vocabulary, string token, string modelPath)
    {
        ArgumentNullException.ThrowIfNull(vocabulary);
        ArgumentException.ThrowIfNullOrEmpty(token);
        if (int.TryParse(token, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int id))
        {
            if (id >= vocabulary.Count) throw new ArgumentException($"reward token id {id} is outside {modelPath}'s vocabulary of {vocabulary.Count}");
            return id;
        }
        int[] ids = vocabulary.Tokenize(token, addSpecial: false, parseSpecial: true);
        if (ids.Length != 1) throw new ArgumentException($"reward token '{token}' is {ids.Length} tokens in {modelPath}'s vocabulary, not one");
        return ids[0];
    }
}
