import FastJSON
import Foundation
import Store

/// How often each topic was asked for: read back from the stored topic-guided prompts, whose
/// text names them as `with the topics "A, B, C"` (LaMiniPrompts.instructionPrompt).
public enum TopicUsage {
    /// Uses per topic title, every mined topic present (0 when never asked for).
    public static func count(store: Store) throws -> [String: Int] {
        let titles = try store.topicTitles()
        var uses = Dictionary(titles.map { ($0, 0) }, uniquingKeysWith: { a, _ in a })
        let opening = "with the topics \"", closing = "\".\n"
        try store.forEachTeacherRequestBody(stage: "instructions") { body in
            guard body.contains(opening),
                  case let .array(messages)? = try? JSONParser.parse(body)["messages"],
                  let prompt = messages.last?["content"]?.stringValue,
                  let start = prompt.range(of: opening), let end = prompt.range(of: closing, range: start.upperBound..<prompt.endIndex)
            else { return }
            // Titles may hold ", " themselves: grow each piece until it is a known title.
            var piece = ""
            for part in prompt[start.upperBound..<end.lowerBound].components(separatedBy: ", ") {
                piece = piece.isEmpty ? part : piece + ", " + part
                if uses[piece] != nil { uses[piece]! += 1; piece = "" }
            }
        }
        return uses
    }
}
