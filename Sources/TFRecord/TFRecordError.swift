/// An error in TFRecord framing or in a serialized `tf.train.Example`.
///
/// For framing errors `offset` is the byte offset in the stream where the bad record's
/// header starts; for protobuf errors it is the byte position inside the serialized example.
public struct TFRecordError: Error, CustomStringConvertible, Equatable, Sendable {
    public var message: String
    public var offset: Int64

    public init(message: String, offset: Int64) {
        self.message = message
        self.offset = offset
    }

    public var description: String { "byte offset \(offset): \(message)" }
}

/// `0x` followed by exactly eight lowercase hex digits.
@inline(__always)
func hex32(_ value: UInt32) -> String {
    let digits = String(value, radix: 16)
    return "0x" + String(repeating: "0", count: max(0, 8 - digits.count)) + digits
}
