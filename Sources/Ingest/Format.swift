import ByteStreams
import FastJSON
import Foundation

/// The input formats Herd reads, as the public datasets publish them.
public enum Format: String, CaseIterable, Sendable {
    case auto
    /// stanford_alpaca `alpaca_data.json`: one JSON array of {instruction, input, output}.
    case alpaca
    /// Self-Instruct `seed_tasks.jsonl` / `user_oriented_instructions.jsonl`: {instruction, instances: [{input, output}]}.
    case selfInstruct = "self-instruct"
    /// JSONL of {instruction, input, output} (Self-Instruct's generated data, Alpaca as JSONL).
    case instructionJSONL = "instruction-jsonl"
    /// GPT-3 fine-tuning JSONL {prompt, completion}.
    case promptCompletion = "prompt-completion"
    /// P3 as released (TFRecord of tf.train.Example) or its rows as JSONL.
    case p3
    /// FLAN collection exports: JSONL {inputs, targets, task_source, task_name, template_type} or {inputs, targets, task}.
    case flan
    /// FLAN chain-of-thought TSV: question \t answer \t rationale, with literal "\n" in the question.
    case flanCot = "flan-cot"
    /// LaMini-instruction rows {instruction, response, instruction_source}.
    case lamini

    /// LaMini-instruction's `instruction_source` names, plus the Self-Instruct seed pool.
    public var defaultSubset: String? {
        switch self {
        case .alpaca: return "alpaca"
        case .selfInstruct: return "self_instruct_seed"
        case .p3: return "original_p3"
        case .flan, .flanCot: return "original_flan"
        case .lamini: return nil // each row names its own
        case .auto, .instructionJSONL, .promptCompletion: return nil
        }
    }

    /// Whether the subset must come from --subset (formats that do not say where they come from).
    public var needsExplicitSubset: Bool { self == .instructionJSONL || self == .promptCompletion }
}

/// Decides a stream's format from its name and its first bytes.
public enum FormatDetector {
    /// Data files inside folders and archives; anything else there (info.*.json, README, LICENSE) is passed over.
    public static func isDataFile(name: String) -> Bool {
        let base = (name as NSString).lastPathComponent.lowercased()
        if base.hasPrefix(".") || base.hasPrefix("info.") { return false }
        if base.contains(".tfrecord") { return true }
        let plain = base.replacingOccurrences(of: #"\.(gz|gzip|bz2|xz|zst|zstd)$"#, with: "", options: .regularExpression)
        return plain.hasSuffix(".jsonl") || plain.hasSuffix(".json") || plain.hasSuffix(".tsv")
    }

    /// `head` is the first bytes of the (decompressed) stream.
    public static func detect(name: String, head: [UInt8]) -> Format? {
        let base = (name as NSString).lastPathComponent.lowercased()
        if base.contains(".tfrecord") { return .p3 }
        if base.hasSuffix(".tsv") { return .flanCot }
        var i = 0
        if head.starts(with: [0xEF, 0xBB, 0xBF]) { i = 3 }
        while i < head.count, [0x20, 0x09, 0x0A, 0x0D].contains(head[i]) { i += 1 }
        guard i < head.count else { return nil }
        let jsonLinesName = InputFile.strippingCompressionSuffix(base).hasSuffix(".jsonl")
        if head[i] == UInt8(ascii: "["), !jsonLinesName { return .alpaca }
        // JSON Lines: the keys of the first line that holds an object.
        var lineStart = i
        while lineStart < head.count {
            let lineEnd = head[lineStart...].firstIndex(of: 0x0A) ?? head.endIndex
            if lineEnd == head.endIndex, lineStart > i { break } // a line cut by the end of the sample
            if let v = try? JSONParser.parse(Array(head[lineStart..<lineEnd])), v.objectMembers != nil {
                return detect(firstObject: v)
            }
            lineStart = lineEnd + 1
        }
        return nil
    }

    public static func detect(firstObject v: JSONValue) -> Format? {
        guard case let .object(members) = v else { return nil }
        let keys = Set(members.map(\.key))
        if keys.contains("instances"), keys.contains("instruction") { return .selfInstruct }
        if keys.contains("instruction_source"), keys.contains("response") { return .lamini }
        if keys.contains("prompt"), keys.contains("completion") { return .promptCompletion }
        if keys.contains("inputs_pretokenized") { return .p3 }
        if keys.contains("inputs"), keys.contains("targets") { return .flan }
        if keys.contains("instruction") { return .instructionJSONL }
        return nil
    }
}
