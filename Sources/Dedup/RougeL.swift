/// ROUGE-L precision, recall and F-measure, as `rouge_score` reports them.
public struct RougeScore: Equatable, Hashable, Sendable, CustomStringConvertible {
    public var precision: Double
    public var recall: Double
    public var fmeasure: Double

    public init(precision: Double, recall: Double, fmeasure: Double) {
        self.precision = precision
        self.recall = recall
        self.fmeasure = fmeasure
    }

    public static let zero = RougeScore(precision: 0, recall: 0, fmeasure: 0)

    public var description: String { "RougeScore(precision: \(precision), recall: \(recall), fmeasure: \(fmeasure))" }
}

/// ROUGE-L of `rouge_score` (`RougeScorer(["rougeL"]).score(target, prediction)["rougeL"]`),
/// bit for bit. `target` is the reference, `prediction` the candidate:
///
///     precision = LCS / len(prediction)        recall = LCS / len(target)
///     fmeasure  = 2 * precision * recall / (precision + recall)   (0 when precision + recall == 0)
///
/// all 0 when either token list is empty. The operations and their order are those of
/// `rouge_scorer._score_lcs` and `scoring.fmeasure`, so the doubles are identical: each division
/// of two exact integers is correctly rounded in both languages, and `2 * p * r` is evaluated as
/// `(2 * p) * r`. The F-measure is symmetric even in floating point (doubling is exact), so
/// swapping target and prediction swaps precision and recall and keeps `fmeasure`.
public enum RougeL {
    /// The scores for an LCS of length `lcsLength` between a target of `targetCount` tokens and a
    /// prediction of `predictionCount` tokens.
    @inline(__always)
    public static func score(lcsLength: Int, targetCount: Int, predictionCount: Int) -> RougeScore {
        if targetCount == 0 || predictionCount == 0 { return .zero }
        let precision = Double(lcsLength) / Double(predictionCount)
        let recall = Double(lcsLength) / Double(targetCount)
        return RougeScore(precision: precision, recall: recall, fmeasure: fmeasure(precision: precision, recall: recall))
    }

    /// `rouge_score.scoring.fmeasure`: `2 * precision * recall / (precision + recall)`, or 0.
    @inline(__always)
    public static func fmeasure(precision: Double, recall: Double) -> Double {
        let sum = precision + recall
        return sum > 0 ? 2 * precision * recall / sum : 0
    }

    /// Just the F-measure for an LCS of `lcsLength` between token lists of the given lengths (the
    /// same double as `score(...).fmeasure`; symmetric in the two lengths).
    @inline(__always)
    public static func fmeasure(lcsLength: Int, targetCount: Int, predictionCount: Int) -> Double {
        score(lcsLength: lcsLength, targetCount: targetCount, predictionCount: predictionCount).fmeasure
    }

    /// ROUGE-L between two token lists (LCS by dynamic programming).
    public static func score<Token: Equatable>(target: [Token], prediction: [Token]) -> RougeScore {
        score(lcsLength: LCS.lengthByDynamicProgramming(target, prediction),
              targetCount: target.count, predictionCount: prediction.count)
    }

    /// ROUGE-L between two texts tokenized by `tokenizer` (`RougeTokenizer(stem: false)` is
    /// `use_stemmer=False`, the setting of Self-Instruct, Alpaca and Lion).
    public static func score(target: String, prediction: String,
                             tokenizer: RougeTokenizer = RougeTokenizer()) -> RougeScore {
        score(target: tokenizer.tokens(target), prediction: tokenizer.tokens(prediction))
    }
}
