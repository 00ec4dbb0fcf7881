import Checksums
import Foundation
import TFRecord
import XCTest

final class TFRecordTests: XCTestCase {
    // MARK: - Helpers

    /// Repository root: Tests/TFRecordTests/TFRecordTests.swift is three levels below it.
    private static let repoRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    private static func p3Data(_ task: String) -> URL {
        repoRoot.appendingPathComponent("fixtures/p3/P3/data").appendingPathComponent(task)
    }

    private func fixtureBytes(_ task: String) throws -> [UInt8] {
        let url = Self.p3Data(task).appendingPathComponent("train.tfrecord-00000-of-00001")
        return [UInt8](try Data(contentsOf: url))
    }

    /// A pull closure over `bytes` that hands out at most `chunk` bytes per call.
    private func source(_ bytes: [UInt8], chunk: Int = .max) -> (UnsafeMutableRawBufferPointer) throws -> Int {
        var position = 0
        return { destination in
            let n = min(destination.count, chunk, bytes.count - position)
            for i in 0..<n { destination[i] = bytes[position + i] }
            position += n
            return n
        }
    }

    private func readAll(_ bytes: [UInt8], chunk: Int = .max) throws -> [(data: [UInt8], offset: Int64)] {
        let reader = TFRecordReader(read: source(bytes, chunk: chunk))
        var records: [(data: [UInt8], offset: Int64)] = []
        while let record = try reader.next() { records.append(record) }
        return records
    }

    /// Reads until an error; returns the records read before it and the error.
    private func readUntilError(_ bytes: [UInt8], chunk: Int = .max) -> (count: Int, error: TFRecordError?) {
        let reader = TFRecordReader(read: source(bytes, chunk: chunk))
        var count = 0
        do {
            while try reader.next() != nil { count += 1 }
            return (count, nil)
        } catch let error as TFRecordError {
            return (count, error)
        } catch {
            XCTFail("unexpected error type: \(error)")
            return (count, nil)
        }
    }

    private func payload(_ n: Int, seed: Int) -> [UInt8] {
        (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ seed) }
    }

    /// Four framed records (lengths 10, 300, 50, 7) and the offsets where each starts.
    private func fourRecords() -> (file: [UInt8], offsets: [Int], payloads: [[UInt8]]) {
        let payloads = [payload(10, seed: 1), payload(300, seed: 2), payload(50, seed: 3), payload(7, seed: 4)]
        var file: [UInt8] = []
        var offsets: [Int] = []
        for p in payloads {
            offsets.append(file.count)
            file += TFRecordWriter.frame(p)
        }
        return (file, offsets, payloads)
    }

    private func hex(_ v: UInt32) -> String {
        let digits = String(v, radix: 16)
        return "0x" + String(repeating: "0", count: 8 - digits.count) + digits
    }

    // MARK: - Framing

    func testFrameLayout() {
        let data: [UInt8] = Array("hello".utf8)
        let framed = TFRecordWriter.frame(data)
        XCTAssertEqual(framed.count, 8 + 4 + 5 + 4)
        XCTAssertEqual(Array(framed[0..<8]), [5, 0, 0, 0, 0, 0, 0, 0])
        let lengthCRC = CRC32C.masked(CRC32C.checksum(Array(framed[0..<8])))
        XCTAssertEqual(Array(framed[8..<12]), [0, 8, 16, 24].map { UInt8(truncatingIfNeeded: lengthCRC >> $0) })
        XCTAssertEqual(Array(framed[12..<17]), data)
        let dataCRC = CRC32C.masked(CRC32C.checksum(data))
        XCTAssertEqual(Array(framed[17..<21]), [0, 8, 16, 24].map { UInt8(truncatingIfNeeded: dataCRC >> $0) })
    }

    func testFrameReadRoundTrip() throws {
        // Includes an empty record and one larger than the reader's 64 KiB chunk.
        let payloads = [[], [0x42], payload(1000, seed: 5), payload(200_000, seed: 6), payload(3, seed: 7)]
        var file: [UInt8] = []
        var offsets: [Int64] = []
        for p in payloads {
            offsets.append(Int64(file.count))
            file += TFRecordWriter.frame(p)
        }
        let records = try readAll(file)
        XCTAssertEqual(records.map(\.data), payloads)
        XCTAssertEqual(records.map(\.offset), offsets)
        XCTAssertEqual(offsets, [0, 16, 33, 1049, 201_065])

        let viaBytesInit = TFRecordReader(bytes: file)
        var count = 0
        while let record = try viaBytesInit.next() {
            XCTAssertEqual(record.data, payloads[count])
            count += 1
        }
        XCTAssertEqual(count, 5)
        XCTAssertNil(try viaBytesInit.next(), "stays at end")
    }

    func testEmptyStreamIsCleanEnd() throws {
        XCTAssertEqual(try readAll([]).count, 0)
    }

    func testFlippedDataByteIsCRCError() {
        let (file, offsets, _) = fourRecords()
        var corrupt = file
        corrupt[offsets[1] + 12 + 100] ^= 0x01
        let (count, error) = readUntilError(corrupt)
        XCTAssertEqual(count, 1)
        XCTAssertEqual(error?.offset, Int64(offsets[1]))
        XCTAssertEqual(error?.offset, 26)
        let storedBytes = Array(corrupt[(offsets[1] + 312)..<(offsets[1] + 316)])
        let stored = storedBytes.enumerated().reduce(UInt32(0)) { $0 | UInt32($1.element) << (8 * UInt32($1.offset)) }
        let computed = CRC32C.masked(CRC32C.checksum(Array(corrupt[(offsets[1] + 12)..<(offsets[1] + 312)])))
        XCTAssertEqual(error?.message, "record data CRC mismatch (stored \(hex(stored)), computed \(hex(computed)))")
        XCTAssertEqual(error?.description, "byte offset 26: record data CRC mismatch (stored \(hex(stored)), computed \(hex(computed)))")
    }

    func testFlippedStoredDataCRCIsCRCError() {
        let (file, offsets, _) = fourRecords()
        var corrupt = file
        corrupt[offsets[3] - 1] ^= 0x80   // last byte of record 3's data CRC
        let (count, error) = readUntilError(corrupt)
        XCTAssertEqual(count, 2)
        XCTAssertEqual(error?.offset, Int64(offsets[2]))
        XCTAssertTrue(error?.message.hasPrefix("record data CRC mismatch (stored 0x") ?? false, "\(String(describing: error))")
    }

    func testFlippedLengthByteIsLengthCRCError() {
        let (file, offsets, _) = fourRecords()
        var corrupt = file
        corrupt[offsets[2]] ^= 0x04   // length 50 -> 54
        let (count, error) = readUntilError(corrupt)
        XCTAssertEqual(count, 2)
        XCTAssertEqual(error?.offset, Int64(offsets[2]))
        let stored = CRC32C.masked(CRC32C.checksum([50, 0, 0, 0, 0, 0, 0, 0] as [UInt8]))
        let computed = CRC32C.masked(CRC32C.checksum([54, 0, 0, 0, 0, 0, 0, 0] as [UInt8]))
        XCTAssertEqual(error?.message, "record length CRC mismatch (stored \(hex(stored)), computed \(hex(computed)))")
    }

    func testCutInMiddleOfRecord3IsTruncated() {
        let (file, offsets, _) = fourRecords()
        let cut = Array(file[0..<(offsets[2] + 12 + 20)])  // 20 of record 3's 50 data bytes
        let (count, error) = readUntilError(cut)
        XCTAssertEqual(count, 2)
        XCTAssertEqual(error, TFRecordError(message: "truncated record: expected 50 data bytes, found 20",
                                            offset: Int64(offsets[2])))
        XCTAssertEqual(error?.offset, 342)

        // All data present but the data CRC cut short.
        let cutCRC = Array(file[0..<(offsets[2] + 12 + 50 + 3)])
        XCTAssertEqual(readUntilError(cutCRC).error,
                       TFRecordError(message: "truncated record: expected 4-byte data CRC after 50 data bytes, found 3",
                                     offset: Int64(offsets[2])))
    }

    func testCutInsideHeader() {
        let (file, offsets, _) = fourRecords()
        let (count, error) = readUntilError(Array(file[0..<(offsets[2] + 5)]))
        XCTAssertEqual(count, 2)
        XCTAssertEqual(error, TFRecordError(message: "truncated length header: expected 8 bytes, found 5",
                                           offset: Int64(offsets[2])))
        XCTAssertEqual(readUntilError(Array(file[0..<(offsets[2] + 10)])).error,
                       TFRecordError(message: "truncated length header: expected 4-byte length CRC, found 2",
                                     offset: Int64(offsets[2])))
        XCTAssertEqual(readUntilError(Array(file[0..<1])).error,
                       TFRecordError(message: "truncated length header: expected 8 bytes, found 1", offset: 0))
    }

    func testErrorsRepeatAfterFailure() {
        let (file, offsets, _) = fourRecords()
        let reader = TFRecordReader(bytes: Array(file[0..<(offsets[1] + 3)]))
        XCTAssertNoThrow(try reader.next())
        let expected = TFRecordError(message: "truncated length header: expected 8 bytes, found 3", offset: Int64(offsets[1]))
        for _ in 0..<2 {
            XCTAssertThrowsError(try reader.next()) { XCTAssertEqual($0 as? TFRecordError, expected) }
        }
    }

    func testReadClosureErrorsPropagate() {
        struct Boom: Error {}
        var calls = 0
        let reader = TFRecordReader(read: { _ in
            calls += 1
            throw Boom()
        })
        XCTAssertThrowsError(try reader.next()) { XCTAssertTrue($0 is Boom) }
        XCTAssertThrowsError(try reader.next()) { XCTAssertTrue($0 is Boom) }
        XCTAssertEqual(calls, 1)
    }

    func testOneByteAtATimeGivesIdenticalResults() throws {
        for task in ["ag_news_classify", "ag_news_classify_score_eval"] {
            let file = try fixtureBytes(task)
            let whole = try readAll(file)
            for chunk in [1, 7, 12, 4096] {
                let pieces = try readAll(file, chunk: chunk)
                XCTAssertEqual(pieces.map(\.data), whole.map(\.data), "chunk \(chunk)")
                XCTAssertEqual(pieces.map(\.offset), whole.map(\.offset), "chunk \(chunk)")
            }
        }
        // Errors too: same message and offset when fed one byte at a time.
        let (file, offsets, _) = fourRecords()
        var corrupt = file
        corrupt[offsets[3] + 12] ^= 0xFF
        XCTAssertEqual(readUntilError(corrupt, chunk: 1).error, readUntilError(corrupt).error)
        XCTAssertEqual(readUntilError(corrupt, chunk: 1).count, 3)
        let cut = Array(file[0..<(offsets[2] + 30)])
        XCTAssertEqual(readUntilError(cut, chunk: 1).error, readUntilError(cut).error)
    }

    // MARK: - Fixtures

    func testAgNewsFixture() throws {
        let records = try readAll(fixtureBytes("ag_news_classify"))
        XCTAssertEqual(records.count, 20)

        let jsonl = try String(contentsOfFile: "/work/shared/data/p3/t0_train_50k__ag_news_classify.jsonl", encoding: .utf8)
        let firstLine = try XCTUnwrap(jsonl.split(separator: "\n").first)
        let row = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(firstLine.utf8)) as? [String: String])
        let prompt = try XCTUnwrap(row["prompt"])
        XCTAssertTrue(prompt.hasSuffix("\n"))

        let first = try TFExample(serialized: records[0].data)
        XCTAssertEqual(records[0].offset, 0)
        XCTAssertEqual(first.string("inputs_pretokenized"), String(prompt.dropLast()))
        XCTAssertEqual(first.string("targets_pretokenized"), "Business")
        XCTAssertEqual(first.strings("answer_choices"), ["World politics", "Sports", "Business", "Science and technology"])
        XCTAssertEqual(first.strings("answer_choices")?.count, 4)
        // Fake token ids: the UTF-8 bytes of the text.
        XCTAssertEqual(first.int64s("inputs"), String(prompt.dropLast()).utf8.map { Int64($0) })
        XCTAssertEqual(first.int64s("targets"), "Business".utf8.map { Int64($0) })
        XCTAssertEqual(Set(first.features.keys),
                       ["inputs", "inputs_pretokenized", "targets", "targets_pretokenized", "answer_choices"])
        XCTAssertNil(first.string("inputs"), "int64 feature is not a string")
        XCTAssertNil(first.int64s("inputs_pretokenized"))
        XCTAssertNil(first.string("missing"))

        for record in records {
            let example = try TFExample(serialized: record.data)
            XCTAssertEqual(example.string("targets_pretokenized"), "Business")
            XCTAssertEqual(example.strings("answer_choices")?.count, 4)
            // The fixture's encoding is the same deterministic encoding Swift produces.
            XCTAssertEqual(example.serialized(), record.data)
        }
    }

    func testScoreEvalFixture() throws {
        let records = try readAll(fixtureBytes("ag_news_classify_score_eval"))
        XCTAssertEqual(records.count, 20)
        let examples = try records.map { try TFExample(serialized: $0.data) }
        let correct = examples.filter { $0.int64s("is_correct") == [1] }
        XCTAssertEqual(correct.count, 5)
        XCTAssertEqual(examples.filter { $0.int64s("is_correct") == [0] }.count, 15)
        XCTAssertEqual(correct.map { $0.string("targets_pretokenized") }, Array(repeating: "Business", count: 5))
        XCTAssertEqual(correct.map { $0.int64s("idx") ?? [] }, [[0, 2], [1, 2], [2, 2], [3, 2], [4, 2]])
        for (i, example) in examples.enumerated() {
            XCTAssertEqual(example.int64s("idx"), [Int64(i / 4), Int64(i % 4)])
            XCTAssertEqual(example.features["weight"], .floats([1.0]))
            XCTAssertEqual(example.floats("weight"), [1.0])
            XCTAssertEqual(example.serialized(), records[i].data)
        }
        XCTAssertEqual(examples.prefix(4).compactMap { $0.string("targets_pretokenized") },
                       ["World politics", "Sports", "Business", "Science and technology"])
    }

    func testOtherFixturesAndInfo() throws {
        let expected = ["ag_news_classify": 20, "sciq_Direct_Question_Closed_Book_": 15,
                        "commonsense_qa_answer_given_question_without_options": 10, "ag_news_classify_score_eval": 20]
        for (task, n) in expected {
            let records = try readAll(fixtureBytes(task))
            XCTAssertEqual(records.count, n, task)
            let infoData = try Data(contentsOf: Self.p3Data(task).appendingPathComponent("info.train.json"))
            let info = try XCTUnwrap(JSONSerialization.jsonObject(with: infoData) as? [String: Any])
            XCTAssertEqual(info["num_examples"] as? Int, n, task)
            XCTAssertEqual(info["num_shards"] as? Int, 1, task)
            for record in records {
                let example = try TFExample(serialized: record.data)
                XCTAssertNotNil(example.string("inputs_pretokenized"), task)
                XCTAssertNotNil(example.string("targets_pretokenized"), task)
            }
        }
        let sciq = try TFExample(serialized: try XCTUnwrap(readAll(fixtureBytes("sciq_Direct_Question_Closed_Book_")).first).data)
        XCTAssertEqual(sciq.string("targets_pretokenized"), "mesophilic organisms")
        let csqa = try TFExample(serialized: try XCTUnwrap(
            readAll(fixtureBytes("commonsense_qa_answer_given_question_without_options")).first).data)
        XCTAssertEqual(csqa.string("targets_pretokenized"), "ignore")
    }

    // MARK: - Protobuf

    /// Hand-built wire bytes helpers.
    private func varint(_ v: UInt64) -> [UInt8] {
        var v = v, out: [UInt8] = []
        while v >= 0x80 { out.append(UInt8(v & 0x7F) | 0x80); v >>= 7 }
        out.append(UInt8(v))
        return out
    }

    private func ld(_ field: UInt64, _ payload: [UInt8]) -> [UInt8] {
        varint(field << 3 | 2) + varint(UInt64(payload.count)) + payload
    }

    private func entry(_ key: String, _ feature: [UInt8]) -> [UInt8] {
        ld(1, ld(1, Array(key.utf8)) + ld(2, feature))
    }

    func testDecodesUnpackedInt64AndSkipsUnknownFields() throws {
        // Int64List with unpacked values 1, 300, -2 and a packed run 5, 6 (both forms in one list).
        let int64List = [0x08, 0x01] + [0x08] + varint(300) + [0x08] + varint(UInt64(bitPattern: -2)) + ld(1, [5, 6])
        // FloatList with unpacked fixed32 values 1.5 and -0.25.
        let floatList: [UInt8] = [0x0D] + [0x00, 0x00, 0xC0, 0x3F] + [0x0D] + [0x00, 0x00, 0x80, 0xBE]
        // Unknown fields of every skippable wire type, sprinkled at each level.
        let unknown: [UInt8] = [0x78, 0x96, 0x01]              // field 15, varint 150
            + [0x81, 0x01] + [1, 2, 3, 4, 5, 6, 7, 8]          // field 16, fixed64
            + [0x8D, 0x01] + [9, 9, 9, 9]                      // field 17, fixed32
            + ld(18, Array("ignored".utf8))                    // field 18, bytes
        let bytesList = unknown + ld(1, Array("a".utf8)) + unknown + ld(1, Array("b".utf8))
        let features = entry("ids", ld(3, int64List) + unknown)
            + unknown
            + entry("scores", ld(2, floatList))
            + entry("text", unknown + ld(1, bytesList))
        let serialized = unknown + ld(1, features) + unknown

        let example = try TFExample(serialized: serialized)
        XCTAssertEqual(example.int64s("ids"), [1, 300, -2, 5, 6])
        XCTAssertEqual(example.floats("scores"), [1.5, -0.25])
        XCTAssertEqual(example.strings("text"), ["a", "b"])
        XCTAssertEqual(example.string("text"), "a")
        XCTAssertEqual(example.features.count, 3)
        XCTAssertEqual(try TFExample(serialized: example.serialized()), example)
    }

    func testDecoderMergesAndOverrides() throws {
        // Two `features` fields merge; a repeated key takes the last value; oneof last wins;
        // two bytes_list fields in one Feature concatenate; an empty Feature is .bytes([]).
        let serialized = ld(1, entry("a", ld(3, ld(1, [1])))) + ld(1, entry("b", ld(1, ld(1, [0x78]))))
            + ld(1, entry("a", ld(3, ld(1, [2])) + ld(1, ld(1, [0x79])) + ld(1, ld(1, [0x7A]))))
            + ld(1, entry("empty", []))
        let example = try TFExample(serialized: serialized)
        XCTAssertEqual(example.features, ["a": .bytes([[0x79], [0x7A]]), "b": .bytes([[0x78]]), "empty": .bytes([])])
        XCTAssertEqual(try TFExample(serialized: []).features, [:])
    }

    func testSerializedRoundTrip() throws {
        let example = TFExample(features: [
            "inputs_pretokenized": .bytes([Array("Ünïcödé — text ✓".utf8)]),
            "answer_choices": .bytes([Array("yes".utf8), [], Array("no".utf8)]),
            "binary": .bytes([[0xFF, 0xFE, 0x00]]),
            "ids": .int64s([0, 1, 127, 128, 300, -1, Int64.min, Int64.max]),
            "weights": .floats([1.0, -0.5, 3.25e10, .infinity, 0]),
            "empty_ints": .int64s([]),
            "empty_floats": .floats([]),
            "empty_bytes": .bytes([]),
            "ключ": .int64s([42]),
            "": .bytes([Array("empty key".utf8)]),
        ])
        let bytes = example.serialized()
        let decoded = try TFExample(serialized: bytes)
        XCTAssertEqual(decoded, example)
        XCTAssertEqual(decoded.serialized(), bytes, "deterministic")
        XCTAssertEqual(TFExample(features: example.features).serialized(), bytes)
        XCTAssertNil(decoded.string("binary"), "not valid UTF-8")
        XCTAssertNil(decoded.strings("binary"))
        XCTAssertEqual(decoded.strings("answer_choices"), ["yes", "", "no"])
        XCTAssertEqual(decoded.string("empty_bytes"), nil)
        XCTAssertEqual(decoded.strings("empty_bytes"), [])

        // Exact encoding of a tiny example (keys sorted, packed int64s).
        let tiny = TFExample(features: ["b": .int64s([1, 300]), "a": .floats([1.0])])
        XCTAssertEqual(tiny.serialized(), [
            0x0A, 0x1D,
            0x0A, 0x0D, 0x0A, 0x01, 0x61, 0x12, 0x08, 0x12, 0x06, 0x0A, 0x04, 0x00, 0x00, 0x80, 0x3F,
            0x0A, 0x0C, 0x0A, 0x01, 0x62, 0x12, 0x07, 0x1A, 0x05, 0x0A, 0x03, 0x01, 0xAC, 0x02,
        ])
    }

    func testBadVarintErrors() {
        // Example { features { entry { key: <varint length cut off> } } }: the last byte has its continuation bit.
        let truncated: [UInt8] = [0x0A, 0x03, 0x0A, 0x01, 0x80]
        XCTAssertThrowsError(try TFExample(serialized: truncated)) { error in
            XCTAssertEqual(error as? TFRecordError,
                           TFRecordError(message: "truncated varint at byte 4 of the example", offset: 4))
        }
        // Truncated at top level: a tag's varint runs off the end.
        XCTAssertThrowsError(try TFExample(serialized: [0x8A])) { error in
            XCTAssertEqual(error as? TFRecordError,
                           TFRecordError(message: "truncated varint at byte 0 of the example", offset: 0))
        }
        // Varint longer than 64 bits (11 bytes).
        let overlong: [UInt8] = [0x78] + Array(repeating: 0xFF, count: 10) + [0x01]
        XCTAssertThrowsError(try TFExample(serialized: overlong)) { error in
            XCTAssertEqual(error as? TFRecordError,
                           TFRecordError(message: "varint at byte 1 of the example does not fit in 64 bits", offset: 1))
        }
        // Packed int64 run whose last varint is cut by the packed length.
        let packedCut = ld(1, entry("x", ld(3, ld(1, [0x05, 0x80]))))
        XCTAssertThrowsError(try TFExample(serialized: packedCut)) { error in
            XCTAssertEqual((error as? TFRecordError)?.message, "truncated varint at byte 14 of the example")
            XCTAssertEqual((error as? TFRecordError)?.offset, 14)
        }
    }

    func testOtherMalformedProtobufErrors() {
        func message(_ bytes: [UInt8]) -> String? {
            do { _ = try TFExample(serialized: bytes); return nil } catch { return (error as? TFRecordError)?.message }
        }
        XCTAssertEqual(message([0x0B]), "wire type 3 not supported (groups) at byte 0 of the example")
        XCTAssertEqual(message([0x0C]), "wire type 4 not supported (groups) at byte 0 of the example")
        XCTAssertEqual(message([0x0E]), "invalid wire type 6 at byte 0 of the example")
        XCTAssertEqual(message([0x02]), "invalid field number 0 at byte 0 of the example")
        XCTAssertEqual(message([0x0A, 0x05, 0x0A]),
                       "length-delimited field at byte 1 of the example claims 5 bytes, only 1 remain")
        XCTAssertEqual(message([0x08, 0x01]),
                       "Example field 1 at byte 0 of the example has wire type 0, expected 2 (length-delimited)")
        XCTAssertEqual(message([0x79, 1, 2, 3]), "truncated 64-bit field at byte 0 of the example")
        XCTAssertEqual(message(ld(1, entry("f", ld(2, ld(1, [0, 0, 0]))))),
                       "packed float list at byte 12 of the example has 3 bytes, not a multiple of 4")
        XCTAssertEqual(message(ld(1, ld(1, ld(1, [0xFF])))),
                       "feature name at byte 4 of the example is not valid UTF-8")
        XCTAssertEqual(message(ld(1, entry("i", ld(3, [0x0D, 0, 0, 0, 0])))),
                       "Int64List field 1 at byte 11 of the example has wire type 5, expected 0 (varint) or 2 (packed)")
    }
}
