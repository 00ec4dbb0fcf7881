import ByteStreams
import FastJSON

/// Texts to embed: one per line of a UTF-8 file (plain, compressed or in an archive), or one
/// string field per line of a JSONL file.
public enum TextInput {
    public static func read(path: String, field: String?) throws -> [String] {
        var texts: [String] = []
        let file = try InputFile(path: path)
        try withExtendedLifetime(file) {
            guard let member = try file.nextMember() else { return }
            let shown = member.member.map { "\(path):\($0)" } ?? path
            let lines = LineReader(source: member.source)
            while let line = try lines.next() {
                guard let field else { texts.append(String(decoding: line.bytes, as: UTF8.self)); continue }
                let value: JSONValue
                do { value = try JSONParser.parse(line.bytes) } catch {
                    throw InputError(path: shown, line: line.number, message: "invalid JSON: \(error)")
                }
                guard case let .string(text)? = value[field] else {
                    throw InputError(path: shown, line: line.number, message: "expected a string field \"\(field)\"")
                }
                texts.append(text)
            }
        }
        return texts
    }
}
