import Foundation

/// The four grades of LaMini-LM's human evaluation (after Self-Instruct's rubric).
public enum Grade: String, CaseIterable, Sendable {
    case A, B, C, D

    public var meaning: String {
        switch self {
        case .A: return "valid and acceptable"
        case .B: return "acceptable, with minor errors or imperfections"
        case .C: return "responds to the instruction, but with significant errors"
        case .D: return "invalid: irrelevant, or does not respond to the instruction"
        }
    }
}

/// The judge's instructions and the strict reading of its reply.
public enum JudgeRubric {
    public static let systemMessage = """
        You review instruction-response pairs collected to train a small language model. Grade the response \
        to the instruction on this scale:
        A: the response is valid and acceptable.
        B: the response is acceptable but has minor errors or imperfections.
        C: the response is relevant and responds to the instruction, but it has significant errors in its content.
        D: the response is invalid: it is irrelevant, or it does not respond to the instruction.
        Reply with the grade alone on the first line, written as "Grade: A", "Grade: B", "Grade: C" or \
        "Grade: D", then one sentence saying why.
        """

    /// The user message: the pair, the input only when there is one.
    public static func userMessage(instruction: String, input: String, response: String) -> String {
        var out = "Instruction:\n\(instruction)\n\n"
        if !input.isEmpty { out += "Input:\n\(input)\n\n" }
        return out + "Response:\n\(response)"
    }

    /// The grade of a judge's reply, nil when the reply does not state one as asked: its first
    /// non-empty line must be "Grade: X" (any case of "grade", optional Markdown bold, a final
    /// period) or the capital letter alone. Nothing else is read, so a reply that talks about
    /// grades without giving one is never taken for one. The reason is the rest of the reply.
    public static func parse(_ reply: String) -> (grade: Grade?, reason: String) {
        var lines = reply.split(separator: "\n", omittingEmptySubsequences: false)[...]
        while let first = lines.first, first.allSatisfy(\.isWhitespace) { lines.removeFirst() }
        guard let first = lines.first else { return (nil, "") }
        let reason = lines.dropFirst().joined(separator: "\n").trimmingCharacters(in: .whitespacesAndNewlines)
        guard let match = String(first).wholeMatch(of: gradeLine), let grade = Grade(rawValue: String(match.output.1)) else {
            return (nil, reason)
        }
        return (grade, reason)
    }

    /// "Grade: B", "**Grade:** B", "**Grade: B.**", "grade: B.", "B": the letter in capitals.
    nonisolated(unsafe) private static let gradeLine = try! Regex(#"\s*\**\s*(?:[Gg][Rr][Aa][Dd][Ee]\s*:\s*\**\s*)?([ABCD])\.?\s*\**\s*\.?\s*"#,
                                                                 as: (Substring, Substring).self)
}
