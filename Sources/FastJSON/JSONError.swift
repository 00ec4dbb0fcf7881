/// A JSON syntax error with the position where it was detected.
public struct JSONError: Error, CustomStringConvertible, Equatable {
    /// What was wrong and what was expected, e.g. "expected ',' or '}' after object member".
    public var message: String
    /// 0-based byte offset of the problem in the parsed buffer (absolute in the stream for
    /// `JSONArrayStreamReader`).
    public var offset: Int
    /// 1-based line of `offset`.
    public var line: Int
    /// 1-based byte column of `offset` within its line.
    public var column: Int

    public init(message: String, offset: Int, line: Int, column: Int) {
        self.message = message
        self.offset = offset
        self.line = line
        self.column = column
    }

    /// "line L, column C (byte offset O): message"
    public var description: String {
        "line \(line), column \(column) (byte offset \(offset)): \(message)"
    }

    /// An error at `offset` of `buffer`, with line and column computed from the buffer's newlines.
    static func at(_ offset: Int, in buffer: UnsafeBufferPointer<UInt8>, _ message: String) -> JSONError {
        var line = 1
        var lineStart = 0
        if let base = buffer.baseAddress {
            let limit = min(offset, buffer.count)
            var i = 0
            while i < limit {
                if base[i] == 0x0A {
                    line += 1
                    lineStart = i + 1
                }
                i += 1
            }
        }
        return JSONError(message: message, offset: offset, line: line, column: offset - lineStart + 1)
    }
}
