/// One feature of a `tf.train.Example`: the `kind` oneof of `tf.train.Feature`.
public enum TFFeature: Equatable, Sendable {
    case bytes([[UInt8]])
    case floats([Float])
    case int64s([Int64])
}

/// A `tf.train.Example`, decoded and encoded by hand from the protobuf wire format.
///
///     Example  { Features features = 1; }
///     Features { map<string, Feature> feature = 1; }        // entry: key = 1, value = 2
///     Feature  { oneof kind { BytesList bytes_list = 1; FloatList float_list = 2; Int64List int64_list = 3; } }
///     BytesList { repeated bytes value = 1; }
///     FloatList { repeated float value = 1 [packed = true]; }
///     Int64List { repeated int64 value = 1 [packed = true]; }
public struct TFExample: Equatable, Sendable {
    public var features: [String: TFFeature]

    public init(features: [String: TFFeature]) {
        self.features = features
    }

    /// Decodes a serialized `tf.train.Example`.
    ///
    /// Packed and unpacked repeated int64/float are both accepted; unknown fields (wire types
    /// 0, 1, 2, 5) are skipped; groups (wire types 3, 4) are rejected. As protobuf does, repeated
    /// occurrences of a message field merge, the last key of the map wins, and the last member of
    /// the `kind` oneof wins. A `Feature` with no kind set decodes as `.bytes([])`.
    /// Throws `TFRecordError` whose offset is the byte position inside `serialized`.
    public init(serialized: [UInt8]) throws {
        self.features = try serialized.withUnsafeBufferPointer { buffer in
            var decoder = ExampleDecoder(bytes: buffer)
            return try decoder.decodeExample()
        }
    }

    /// Deterministic encoding: keys sorted by their UTF-8 bytes, repeated numbers packed,
    /// empty lists omitted inside their list message, map entries always carry key and value.
    public func serialized() -> [UInt8] {
        let keys = features.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        var entries: [(key: String, feature: TFFeature, featureSize: Int, entrySize: Int)] = []
        entries.reserveCapacity(keys.count)
        var featuresSize = 0
        for key in keys {
            let feature = features[key]!
            let featureSize = Wire.featureBodySize(feature)
            let keyLength = key.utf8.count
            let entrySize = 1 + Wire.varintSize(UInt64(keyLength)) + keyLength
                + 1 + Wire.varintSize(UInt64(featureSize)) + featureSize
            featuresSize += 1 + Wire.varintSize(UInt64(entrySize)) + entrySize
            entries.append((key, feature, featureSize, entrySize))
        }

        var out: [UInt8] = []
        out.reserveCapacity(1 + Wire.varintSize(UInt64(featuresSize)) + featuresSize)
        out.append(0x0A)  // Example.features, length-delimited
        Wire.appendVarint(UInt64(featuresSize), to: &out)
        for entry in entries {
            out.append(0x0A)  // Features.feature map entry
            Wire.appendVarint(UInt64(entry.entrySize), to: &out)
            out.append(0x0A)  // entry key
            Wire.appendVarint(UInt64(entry.key.utf8.count), to: &out)
            out.append(contentsOf: entry.key.utf8)
            out.append(0x12)  // entry value
            Wire.appendVarint(UInt64(entry.featureSize), to: &out)
            Wire.appendFeatureBody(entry.feature, to: &out)
        }
        return out
    }

    /// The first bytes value of feature `name` decoded as UTF-8; nil if the feature is absent,
    /// is not a bytes list, is empty, or that value is not valid UTF-8.
    public func string(_ name: String) -> String? {
        guard case .bytes(let values)? = features[name], let first = values.first else { return nil }
        return Self.decodeUTF8(first)
    }

    /// All bytes values of feature `name` decoded as UTF-8; nil if the feature is absent,
    /// is not a bytes list, or any value is not valid UTF-8.
    public func strings(_ name: String) -> [String]? {
        guard case .bytes(let values)? = features[name] else { return nil }
        var result: [String] = []
        result.reserveCapacity(values.count)
        for value in values {
            guard let string = Self.decodeUTF8(value) else { return nil }
            result.append(string)
        }
        return result
    }

    /// The values of int64 feature `name`; nil if absent or not an int64 list.
    public func int64s(_ name: String) -> [Int64]? {
        guard case .int64s(let values)? = features[name] else { return nil }
        return values
    }

    /// The values of float feature `name`; nil if absent or not a float list.
    public func floats(_ name: String) -> [Float]? {
        guard case .floats(let values)? = features[name] else { return nil }
        return values
    }

    /// The raw values of bytes feature `name`; nil if absent or not a bytes list.
    public func bytes(_ name: String) -> [[UInt8]]? {
        guard case .bytes(let values)? = features[name] else { return nil }
        return values
    }

    private static func decodeUTF8(_ bytes: [UInt8]) -> String? {
        let string = String(decoding: bytes, as: UTF8.self)
        // Decoding repairs invalid sequences with U+FFFD; only an exact round trip is valid UTF-8.
        return string.utf8.elementsEqual(bytes) ? string : nil
    }
}

// MARK: - Encoding helpers

enum Wire {
    static func varintSize(_ value: UInt64) -> Int {
        var v = value, n = 1
        while v >= 0x80 { v >>= 7; n += 1 }
        return n
    }

    static func appendVarint(_ value: UInt64, to out: inout [UInt8]) {
        var v = value
        while v >= 0x80 {
            out.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        out.append(UInt8(v))
    }

    /// Size of the list message (BytesList / FloatList / Int64List) inside a Feature.
    static func listBodySize(_ feature: TFFeature) -> Int {
        switch feature {
        case .bytes(let values):
            return values.reduce(0) { $0 + 1 + varintSize(UInt64($1.count)) + $1.count }
        case .floats(let values):
            if values.isEmpty { return 0 }
            let payload = 4 * values.count
            return 1 + varintSize(UInt64(payload)) + payload
        case .int64s(let values):
            if values.isEmpty { return 0 }
            let payload = int64PayloadSize(values)
            return 1 + varintSize(UInt64(payload)) + payload
        }
    }

    static func int64PayloadSize(_ values: [Int64]) -> Int {
        values.reduce(0) { $0 + varintSize(UInt64(bitPattern: $1)) }
    }

    /// Size of a Feature message.
    static func featureBodySize(_ feature: TFFeature) -> Int {
        let list = listBodySize(feature)
        return 1 + varintSize(UInt64(list)) + list
    }

    static func appendFeatureBody(_ feature: TFFeature, to out: inout [UInt8]) {
        let list = listBodySize(feature)
        switch feature {
        case .bytes(let values):
            out.append(0x0A)  // Feature.bytes_list
            appendVarint(UInt64(list), to: &out)
            for value in values {
                out.append(0x0A)
                appendVarint(UInt64(value.count), to: &out)
                out.append(contentsOf: value)
            }
        case .floats(let values):
            out.append(0x12)  // Feature.float_list
            appendVarint(UInt64(list), to: &out)
            if !values.isEmpty {
                out.append(0x0A)
                appendVarint(UInt64(4 * values.count), to: &out)
                for value in values {
                    let bits = value.bitPattern
                    for i in 0..<4 { out.append(UInt8(truncatingIfNeeded: bits >> (8 * UInt32(i)))) }
                }
            }
        case .int64s(let values):
            out.append(0x1A)  // Feature.int64_list
            appendVarint(UInt64(list), to: &out)
            if !values.isEmpty {
                out.append(0x0A)
                appendVarint(UInt64(int64PayloadSize(values)), to: &out)
                for value in values { appendVarint(UInt64(bitPattern: value), to: &out) }
            }
        }
    }
}

// MARK: - Decoding

private struct ExampleDecoder {
    let bytes: UnsafeBufferPointer<UInt8>

    init(bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
    }

    private func fail(_ message: String, at position: Int) -> TFRecordError {
        TFRecordError(message: message, offset: Int64(position))
    }

    private struct Tag {
        var field: UInt64
        var wireType: UInt8
        var position: Int
    }

    /// Reads a varint starting at `position`, which must lie before `end`.
    private func varint(_ position: inout Int, end: Int) throws -> UInt64 {
        let start = position
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard position < end else {
                throw fail("truncated varint at byte \(start) of the example", at: start)
            }
            let byte = bytes[position]
            position += 1
            if shift == 63 && byte > 1 {
                throw fail("varint at byte \(start) of the example does not fit in 64 bits", at: start)
            }
            result |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return result }
            shift += 7
        }
    }

    private func tag(_ position: inout Int, end: Int) throws -> Tag {
        let start = position
        let key = try varint(&position, end: end)
        let field = key >> 3
        let wireType = UInt8(key & 7)
        if field == 0 || field > 0x1FFF_FFFF {
            throw fail("invalid field number \(field) at byte \(start) of the example", at: start)
        }
        switch wireType {
        case 0, 1, 2, 5: break
        case 3, 4:
            throw fail("wire type \(wireType) not supported (groups) at byte \(start) of the example", at: start)
        default:
            throw fail("invalid wire type \(wireType) at byte \(start) of the example", at: start)
        }
        return Tag(field: field, wireType: wireType, position: start)
    }

    /// Reads a length prefix and returns the range of the payload that follows it.
    private func lengthDelimited(_ position: inout Int, end: Int) throws -> Range<Int> {
        let start = position
        let length = try varint(&position, end: end)
        let remaining = end - position
        guard length <= UInt64(remaining) else {
            throw fail("length-delimited field at byte \(start) of the example claims \(length) bytes, only \(remaining) remain",
                       at: start)
        }
        let payload = position..<(position + Int(length))
        position = payload.upperBound
        return payload
    }

    private func skip(_ tag: Tag, _ position: inout Int, end: Int) throws {
        switch tag.wireType {
        case 0:
            _ = try varint(&position, end: end)
        case 1, 5:
            let width = tag.wireType == 1 ? 8 : 4
            guard end - position >= width else {
                throw fail("truncated \(width * 8)-bit field at byte \(tag.position) of the example", at: tag.position)
            }
            position += width
        default:
            _ = try lengthDelimited(&position, end: end)
        }
    }

    private func expect(_ tag: Tag, wireType: UInt8, in message: String) throws {
        guard tag.wireType != wireType else { return }
        let names: [UInt8: String] = [0: "varint", 1: "64-bit", 2: "length-delimited", 5: "32-bit"]
        throw fail("\(message) field \(tag.field) at byte \(tag.position) of the example has wire type \(tag.wireType),"
                   + " expected \(wireType) (\(names[wireType] ?? "?"))", at: tag.position)
    }

    mutating func decodeExample() throws -> [String: TFFeature] {
        var features: [String: TFFeature] = [:]
        var position = 0
        let end = bytes.count
        while position < end {
            let t = try tag(&position, end: end)
            if t.field == 1 {
                try expect(t, wireType: 2, in: "Example")
                let body = try lengthDelimited(&position, end: end)
                try decodeFeatures(body, into: &features)
            } else {
                try skip(t, &position, end: end)
            }
        }
        return features
    }

    private func decodeFeatures(_ range: Range<Int>, into features: inout [String: TFFeature]) throws {
        var position = range.lowerBound
        while position < range.upperBound {
            let t = try tag(&position, end: range.upperBound)
            if t.field == 1 {
                try expect(t, wireType: 2, in: "Features")
                let body = try lengthDelimited(&position, end: range.upperBound)
                let (key, feature) = try decodeEntry(body)
                features[key] = feature
            } else {
                try skip(t, &position, end: range.upperBound)
            }
        }
    }

    private func decodeEntry(_ range: Range<Int>) throws -> (String, TFFeature) {
        var key = ""
        var feature: TFFeature?
        var position = range.lowerBound
        while position < range.upperBound {
            let t = try tag(&position, end: range.upperBound)
            switch t.field {
            case 1:
                try expect(t, wireType: 2, in: "feature map entry")
                let body = try lengthDelimited(&position, end: range.upperBound)
                let raw = UnsafeBufferPointer(rebasing: bytes[body])
                let decoded = String(decoding: raw, as: UTF8.self)
                guard decoded.utf8.elementsEqual(raw) else {
                    throw fail("feature name at byte \(t.position) of the example is not valid UTF-8", at: t.position)
                }
                key = decoded
            case 2:
                try expect(t, wireType: 2, in: "feature map entry")
                let body = try lengthDelimited(&position, end: range.upperBound)
                feature = try decodeFeature(body, merging: feature)
            default:
                try skip(t, &position, end: range.upperBound)
            }
        }
        return (key, feature ?? .bytes([]))
    }

    private func decodeFeature(_ range: Range<Int>, merging existing: TFFeature?) throws -> TFFeature? {
        var kind = existing
        var position = range.lowerBound
        while position < range.upperBound {
            let t = try tag(&position, end: range.upperBound)
            switch t.field {
            case 1:
                try expect(t, wireType: 2, in: "Feature")
                let body = try lengthDelimited(&position, end: range.upperBound)
                var values: [[UInt8]] = []
                if case .bytes(let old)? = kind { values = old }
                try decodeBytesList(body, into: &values)
                kind = .bytes(values)
            case 2:
                try expect(t, wireType: 2, in: "Feature")
                let body = try lengthDelimited(&position, end: range.upperBound)
                var values: [Float] = []
                if case .floats(let old)? = kind { values = old }
                try decodeFloatList(body, into: &values)
                kind = .floats(values)
            case 3:
                try expect(t, wireType: 2, in: "Feature")
                let body = try lengthDelimited(&position, end: range.upperBound)
                var values: [Int64] = []
                if case .int64s(let old)? = kind { values = old }
                try decodeInt64List(body, into: &values)
                kind = .int64s(values)
            default:
                try skip(t, &position, end: range.upperBound)
            }
        }
        return kind
    }

    private func decodeBytesList(_ range: Range<Int>, into values: inout [[UInt8]]) throws {
        var position = range.lowerBound
        while position < range.upperBound {
            let t = try tag(&position, end: range.upperBound)
            if t.field == 1 {
                try expect(t, wireType: 2, in: "BytesList")
                let body = try lengthDelimited(&position, end: range.upperBound)
                values.append(Array(UnsafeBufferPointer(rebasing: bytes[body])))
            } else {
                try skip(t, &position, end: range.upperBound)
            }
        }
    }

    private func decodeFloatList(_ range: Range<Int>, into values: inout [Float]) throws {
        var position = range.lowerBound
        while position < range.upperBound {
            let t = try tag(&position, end: range.upperBound)
            guard t.field == 1 else {
                try skip(t, &position, end: range.upperBound)
                continue
            }
            switch t.wireType {
            case 5:
                guard range.upperBound - position >= 4 else {
                    throw fail("truncated float at byte \(position) of the example", at: position)
                }
                values.append(float(at: position))
                position += 4
            case 2:
                let lengthAt = position
                let body = try lengthDelimited(&position, end: range.upperBound)
                guard body.count % 4 == 0 else {
                    throw fail("packed float list at byte \(lengthAt) of the example has \(body.count) bytes,"
                               + " not a multiple of 4", at: lengthAt)
                }
                values.reserveCapacity(values.count + body.count / 4)
                for p in stride(from: body.lowerBound, to: body.upperBound, by: 4) { values.append(float(at: p)) }
            default:
                throw fail("FloatList field 1 at byte \(t.position) of the example has wire type \(t.wireType),"
                           + " expected 5 (32-bit) or 2 (packed)", at: t.position)
            }
        }
    }

    private func float(at p: Int) -> Float {
        let bits = UInt32(bytes[p]) | UInt32(bytes[p + 1]) << 8 | UInt32(bytes[p + 2]) << 16 | UInt32(bytes[p + 3]) << 24
        return Float(bitPattern: bits)
    }

    private func decodeInt64List(_ range: Range<Int>, into values: inout [Int64]) throws {
        var position = range.lowerBound
        while position < range.upperBound {
            let t = try tag(&position, end: range.upperBound)
            guard t.field == 1 else {
                try skip(t, &position, end: range.upperBound)
                continue
            }
            switch t.wireType {
            case 0:
                values.append(Int64(bitPattern: try varint(&position, end: range.upperBound)))
            case 2:
                let body = try lengthDelimited(&position, end: range.upperBound)
                var p = body.lowerBound
                while p < body.upperBound {
                    values.append(Int64(bitPattern: try varint(&p, end: body.upperBound)))
                }
            default:
                throw fail("Int64List field 1 at byte \(t.position) of the example has wire type \(t.wireType),"
                           + " expected 0 (varint) or 2 (packed)", at: t.position)
            }
        }
    }
}
