@testable import FastJSON
import Sampling
import XCTest

final class FastJSONParserTests: XCTestCase {
    // MARK: Helpers

    private func assertError(_ bytes: [UInt8], _ message: String, offset: Int, line: Int = 1, column: Int? = nil,
                             file: StaticString = #filePath, testLine: UInt = #line) {
        do {
            let v = try JSONParser.parse(bytes)
            XCTFail("expected error \"\(message)\", parsed \(v)", file: file, line: testLine)
        } catch let e as JSONError {
            XCTAssertEqual(e, JSONError(message: message, offset: offset, line: line, column: column ?? offset + 1),
                           file: file, line: testLine)
        } catch {
            XCTFail("unexpected error type \(error)", file: file, line: testLine)
        }
    }

    private func assertError(_ text: String, _ message: String, offset: Int, line: Int = 1, column: Int? = nil,
                             file: StaticString = #filePath, testLine: UInt = #line) {
        assertError(Array(text.utf8), message, offset: offset, line: line, column: column, file: file, testLine: testLine)
    }

    // MARK: Values

    func testLiterals() throws {
        XCTAssertEqual(try JSONParser.parse("null"), .null)
        XCTAssertEqual(try JSONParser.parse("true"), .bool(true))
        XCTAssertEqual(try JSONParser.parse("false"), .bool(false))
        XCTAssertEqual(try JSONParser.parse(" \t\r\n true \n"), .bool(true))
    }

    func testNumbersKeepRawText() throws {
        for text in ["0", "-0", "7", "-1.5e3", "1E+10", "2e-3", "0.25", "10", "-123.456E-7",
                     "123456789012345678901234567890", "1.7976931348623157e308"] {
            XCTAssertEqual(try JSONParser.parse(text), .number(text), text)
            XCTAssertEqual(try JSONParser.parse("[\(text)]"), .array([.number(text)]), text)
        }
    }

    func testInt64Value() throws {
        XCTAssertEqual(try JSONParser.parse("42").int64Value, 42)
        XCTAssertEqual(try JSONParser.parse("-0").int64Value, 0)
        XCTAssertEqual(try JSONParser.parse("-9223372036854775808").int64Value, Int64.min)
        XCTAssertEqual(try JSONParser.parse("9223372036854775807").int64Value, Int64.max)
        XCTAssertNil(try JSONParser.parse("9223372036854775808").int64Value)
        XCTAssertNil(try JSONParser.parse("1.0").int64Value)
        XCTAssertNil(try JSONParser.parse("1e3").int64Value)
        XCTAssertNil(try JSONParser.parse("\"5\"").int64Value)
        XCTAssertNil(JSONValue.number("+5").int64Value)
        XCTAssertNil(JSONValue.number("-").int64Value)
    }

    func testStrings() throws {
        XCTAssertEqual(try JSONParser.parse("\"\""), .string(""))
        XCTAssertEqual(try JSONParser.parse("\"hello\""), .string("hello"))
        XCTAssertEqual(try JSONParser.parse("\"héllo 世界 😀\""), .string("héllo 世界 😀"))
        XCTAssertEqual(try JSONParser.parse("\"a/b\u{7F}\""), .string("a/b\u{7F}"))
        XCTAssertEqual(try JSONParser.parse("\"héllo 世界 😀\"").stringValue, "héllo 世界 😀")
        XCTAssertNil(try JSONParser.parse("1").stringValue)
    }

    func testEscapes() throws {
        let text = #""\"\\\/\b\f\n\r\t\u0041\u00e9\u20AC\ud83d\ude00\u0000x""#
        XCTAssertEqual(try JSONParser.parse(text), .string("\"\\/\u{8}\u{C}\n\r\tAé€😀\u{0}x"))
        XCTAssertEqual(try JSONParser.parse(#""\ud83d\ude00""#), .string("😀"))
        XCTAssertEqual(try JSONParser.parse(#""\uD83D\uDE00 and é""#), .string("😀 and é"))
        XCTAssertEqual(try JSONParser.parse(#""line1\nline2 ünïcödé \t tab""#), .string("line1\nline2 ünïcödé \t tab"))
    }

    /// Special bytes at every position relative to the 8-byte scanning words.
    func testStringSpecialsAtEveryPosition() throws {
        for length in 0..<40 {
            for position in 0...length {
                var raw = String(repeating: "a", count: position) + "\\\"" + String(repeating: "b", count: length - position)
                XCTAssertEqual(try JSONParser.parse("\"\(raw)\""),
                               .string(String(repeating: "a", count: position) + "\"" + String(repeating: "b", count: length - position)))
                raw = String(repeating: "a", count: position) + "é" + String(repeating: "b", count: length - position)
                XCTAssertEqual(try JSONParser.parse("[\"\(raw)\",1]"), .array([.string(raw), .number("1")]))
                var bytes = Array("\"\(String(repeating: "x", count: length))\"".utf8)
                bytes[1 + position] = 0x1F
                if position < length {
                    assertError(bytes, "unescaped control character in string", offset: 1 + position)
                }
            }
        }
    }

    func testContainers() throws {
        XCTAssertEqual(try JSONParser.parse("[]"), .array([]))
        XCTAssertEqual(try JSONParser.parse("{}"), .object([]))
        XCTAssertEqual(try JSONParser.parse(" [ ] "), .array([]))
        XCTAssertEqual(try JSONParser.parse("{ }"), .object([]))
        let v = try JSONParser.parse(#" { "a" : [1, true, null, "x", {"b": []}], "c": {"d": -2.5} , "a": false } "#)
        XCTAssertEqual(v, .object([
            (key: "a", value: .array([.number("1"), .bool(true), .null, .string("x"), .object([(key: "b", value: .array([]))])])),
            (key: "c", value: .object([(key: "d", value: .number("-2.5"))])),
            (key: "a", value: .bool(false)),
        ]))
        XCTAssertEqual(v["a"], .array([.number("1"), .bool(true), .null, .string("x"), .object([(key: "b", value: .array([]))])]))
        XCTAssertEqual(v["c"]?["d"], .number("-2.5"))
        XCTAssertNil(v["missing"])
        XCTAssertNil(JSONValue.array([]) ["a"])
    }

    func testEqualityIsOrderSensitive() {
        let a = JSONValue.object([(key: "x", value: .null), (key: "y", value: .bool(true))])
        let b = JSONValue.object([(key: "y", value: .bool(true)), (key: "x", value: .null)])
        XCTAssertNotEqual(a, b)
        XCTAssertEqual(a, .object([(key: "x", value: .null), (key: "y", value: .bool(true))]))
        XCTAssertNotEqual(a, .object([(key: "x", value: .null)]))
        XCTAssertNotEqual(JSONValue.number("1"), .number("1.0"))
        XCTAssertNotEqual(JSONValue.string("1"), .number("1"))
        XCTAssertNotEqual(JSONValue.array([.null]), .array([.null, .null]))
    }

    func testParseEntryPointsAgree() throws {
        let text = #"{"k":["v",1]}"#
        let bytes = Array(text.utf8)
        let fromBuffer = try bytes.withUnsafeBufferPointer { try JSONParser.parse($0) }
        XCTAssertEqual(fromBuffer, try JSONParser.parse(bytes))
        XCTAssertEqual(fromBuffer, try JSONParser.parse(text))
        // A buffer slice: the parser must not read past its end.
        let padded = Array("[1]]]]".utf8)
        let slice = try padded.withUnsafeBufferPointer { try JSONParser.parse(UnsafeBufferPointer(rebasing: $0[0..<3])) }
        XCTAssertEqual(slice, .array([.number("1")]))
    }

    func testNestingLimit() throws {
        let ok = String(repeating: "[", count: 512) + String(repeating: "]", count: 512)
        XCTAssertNoThrow(try JSONParser.parse(ok))
        let okObjects = String(repeating: "{\"a\":", count: 511) + "[]" + String(repeating: "}", count: 511)
        XCTAssertNoThrow(try JSONParser.parse(okObjects))
        let deep = String(repeating: "[", count: 513) + String(repeating: "]", count: 513)
        assertError(deep, "nesting deeper than 512", offset: 512)
        let deepObjects = String(repeating: "{\"a\":", count: 512) + "{}" + String(repeating: "}", count: 512)
        assertError(deepObjects, "nesting deeper than 512", offset: 512 * 5)
    }

    // MARK: Errors

    func testEmptyInput() {
        assertError("", "unexpected end of input, expected a JSON value", offset: 0)
        assertError("  \n ", "unexpected end of input, expected a JSON value", offset: 4, line: 2, column: 2)
        XCTAssertThrowsError(try JSONParser.parse(UnsafeBufferPointer<UInt8>(start: nil, count: 0)))
    }

    func testNumberErrors() {
        assertError("01", "leading zeros are not allowed in numbers, expected '.', 'e', 'E' or the end of the number after '0'", offset: 1)
        assertError("-012", "leading zeros are not allowed in numbers, expected '.', 'e', 'E' or the end of the number after '0'", offset: 2)
        let valueExpected = "expected a JSON value (object, array, string, number, true, false or null)"
        assertError("+1", valueExpected, offset: 0)
        assertError(".5", valueExpected, offset: 0)
        assertError("NaN", valueExpected, offset: 0)
        assertError("[Infinity]", valueExpected, offset: 1)
        assertError("-Infinity", "expected digit after '-'", offset: 1)
        assertError("-", "unexpected end of input, expected digit after '-'", offset: 1)
        assertError("1.", "unexpected end of input, expected digit after '.' in number", offset: 2)
        assertError("[1.]", "expected digit after '.' in number", offset: 3)
        assertError("1.e5", "expected digit after '.' in number", offset: 2)
        assertError("1e", "unexpected end of input, expected digit in number exponent", offset: 2)
        assertError("1e+x", "expected digit in number exponent", offset: 3)
        assertError("1x", "unexpected content after the JSON value", offset: 1)
        assertError("0x10", "unexpected content after the JSON value", offset: 1)
    }

    func testLiteralErrors() {
        assertError("tru", "unexpected end of input, expected 'true'", offset: 3)
        assertError("trUe", "invalid literal, expected 'true'", offset: 2)
        assertError("nul", "unexpected end of input, expected 'null'", offset: 3)
        assertError("[fals]", "invalid literal, expected 'false'", offset: 5)
        assertError("True", "expected a JSON value (object, array, string, number, true, false or null)", offset: 0)
        assertError("truex", "unexpected content after the JSON value", offset: 4)
    }

    func testStringErrors() {
        assertError([0x22, 0x61, 0x01, 0x62, 0x22], "unescaped control character in string", offset: 2)
        assertError("\"a\nb\"", "unescaped control character in string", offset: 2)
        assertError("\"a\tb\"", "unescaped control character in string", offset: 2)
        assertError("\"abc", "unexpected end of input, expected closing '\"' of string", offset: 4)
        assertError("\"abcdefghijkl", "unexpected end of input, expected closing '\"' of string", offset: 13)
        assertError(#""a\x""#, #"invalid escape sequence, expected one of \" \\ \/ \b \f \n \r \t \uXXXX"#, offset: 2)
        assertError(#""\u12G4""#, #"invalid \u escape, expected 4 hex digits after '\u'"#, offset: 1)
        assertError(#""\u12"#, #"unexpected end of input, expected 4 hex digits after '\u'"#, offset: 5)
        assertError(#""\"#, #"unexpected end of input, expected escape sequence after '\'"#, offset: 2)
    }

    func testSurrogateErrors() {
        assertError(#""\ud800""#, #"unpaired UTF-16 surrogate \uD800"#, offset: 1)
        assertError(#""ab\uD800\u0041""#, #"unpaired UTF-16 surrogate \uD800"#, offset: 3)
        assertError(#""\ud800\ud800""#, #"unpaired UTF-16 surrogate \uD800"#, offset: 1)
        assertError(#""\udc00""#, #"unpaired UTF-16 surrogate \uDC00"#, offset: 1)
        assertError(#""x\ude00\ud83d""#, #"unpaired UTF-16 surrogate \uDE00"#, offset: 2)
        assertError(#""\ud83dx""#, #"unpaired UTF-16 surrogate \uD83D"#, offset: 1)
    }

    func testInvalidUTF8() {
        let message = "invalid UTF-8 in string"
        assertError([0x22, 0x61, 0xFF, 0x22], message, offset: 2)
        assertError([0x22, 0x80, 0x22], message, offset: 1)                    // stray continuation byte
        assertError([0x22, 0xC0, 0x80, 0x22], message, offset: 1)              // overlong lead
        assertError([0x22, 0xE0, 0x80, 0x80, 0x22], message, offset: 2)        // overlong 3-byte
        assertError([0x22, 0xED, 0xA0, 0x80, 0x22], message, offset: 2)        // encoded surrogate
        assertError([0x22, 0xF4, 0x90, 0x80, 0x80, 0x22], message, offset: 2)  // > U+10FFFF
        assertError([0x22, 0xE2, 0x82, 0x22], message, offset: 3)              // truncated by the quote
        // Long strings (the 8-byte scan path), with and without escapes.
        var long = Array("\"0123456789abcdefghé0123456789\"".utf8)
        long[12] = 0xFE
        assertError(long, message, offset: 12)
        assertError(Array("\"\\n é ".utf8) + [0xC3, 0x28] + Array(" \\t\"".utf8), message, offset: 8)
        // The first problem wins: an invalid byte before an invalid escape / control character / end.
        assertError([0x22, 0xFF, 0x5C, 0x78, 0x22], message, offset: 1)
        assertError([0x22, 0xFF, 0x01, 0x22], message, offset: 1)
        assertError([0x22, 0xFF, 0x61], message, offset: 1)
        assertError([0x22, 0x01, 0xFF, 0x22], "unescaped control character in string", offset: 1)
        // Raw bytes outside strings are not JSON values.
        assertError([0xFF], "expected a JSON value (object, array, string, number, true, false or null)", offset: 0)
        assertError([0xEF, 0xBB, 0xBF, 0x31], "unexpected UTF-8 byte order mark, expected a JSON value", offset: 0)
    }

    /// Every lead byte with many continuations: accepted exactly when the standard library accepts the bytes,
    /// and rejected at an offset inside the offending sequence.
    func testUTF8AgreesWithStandardLibrary() throws {
        guard #available(macOS 15, iOS 18, tvOS 18, watchOS 11, visionOS 2, *) else { return }
        let seconds = (0x20...0xFF).filter { $0 != 0x22 && $0 != 0x5C }.map { UInt8($0) }
        for lead in UInt8(0x80)...UInt8(0xFF) {
            for second in seconds {
                for third: UInt8 in [0x41, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0] {
                    let content: [UInt8] = [lead, second, third, 0x80, 0x61]
                    let doc = [0x22] + content + [0x22]
                    let reference = content.withUnsafeBufferPointer { String(validating: $0, as: UTF8.self) }
                    do {
                        let v = try JSONParser.parse(doc)
                        XCTAssertEqual(v, reference.map(JSONValue.string), "\(content)")
                    } catch let e as JSONError {
                        XCTAssertNil(reference, "\(content)")
                        XCTAssertEqual(e.message, "invalid UTF-8 in string")
                        XCTAssertTrue((1...4).contains(e.offset), "\(content) at \(e.offset)")
                    }
                }
            }
        }
    }

    func testStructureErrors() {
        assertError("[1,]", "expected a JSON value after ',' in array (trailing commas are not allowed)", offset: 3)
        assertError("[1 , ]", "expected a JSON value after ',' in array (trailing commas are not allowed)", offset: 5)
        assertError(#"{"a":1,}"#, "expected string key after ',' in object (trailing commas are not allowed)", offset: 7)
        assertError(#"{"a":1,2}"#, "expected string key after ',' in object", offset: 7)
        assertError(#"{"a":1,"#, "unexpected end of input, expected string key after ',' in object", offset: 7)
        assertError("{1:2}", "expected string key or '}' in object", offset: 1)
        assertError("{'a':2}", "expected string key or '}' in object", offset: 1)
        assertError(#"{"a" 1}"#, "expected ':' after object key", offset: 5)
        assertError(#"{"a""#, "unexpected end of input, expected ':' after object key", offset: 4)
        assertError(#"{"a":1 "b":2}"#, "expected ',' or '}' after object member", offset: 7)
        assertError(#"{"a":1"#, "unexpected end of input, expected ',' or '}' after object member", offset: 6)
        assertError(#"{"a":}"#, "expected a JSON value (object, array, string, number, true, false or null)", offset: 5)
        assertError("{", "unexpected end of input, expected string key or '}' in object", offset: 1)
        assertError("[", "unexpected end of input, expected a JSON value or ']'", offset: 1)
        assertError("[1 2]", "expected ',' or ']' after array element", offset: 3)
        assertError("[1", "unexpected end of input, expected ',' or ']' after array element", offset: 2)
        assertError("[1,", "unexpected end of input, expected a JSON value", offset: 3)
        assertError("[}", "expected a JSON value (object, array, string, number, true, false or null)", offset: 1)
        assertError("[1}", "expected ',' or ']' after array element", offset: 2)
        assertError("1 2", "unexpected content after the JSON value", offset: 2)
        assertError("{} {}", "unexpected content after the JSON value", offset: 3)
        assertError("[]]", "unexpected content after the JSON value", offset: 2)
        assertError("null\u{0}", "unexpected content after the JSON value", offset: 4)
    }

    func testErrorLineAndColumn() {
        let text = "{\n  \"a\": 1,\n  \"b\": tru\n}"
        assertError(text, "invalid literal, expected 'true'", offset: 22, line: 3, column: 11)
        assertError("[1,\r\n2,\r\n3 4]", "expected ',' or ']' after array element", offset: 11, line: 3, column: 3)
        do {
            _ = try JSONParser.parse(text)
        } catch {
            XCTAssertEqual("\(error)", "line 3, column 11 (byte offset 22): invalid literal, expected 'true'")
            XCTAssertEqual((error as? JSONError)?.description, "line 3, column 11 (byte offset 22): invalid literal, expected 'true'")
        }
    }
}

final class JSONArrayStreamReaderTests: XCTestCase {
    /// A reader over `bytes` that hands out at most `chunk` bytes per read.
    private func reader(_ bytes: [UInt8], chunk: Int) -> JSONArrayStreamReader {
        var position = 0
        return JSONArrayStreamReader(chunkSize: chunk) { buffer in
            let n = min(chunk, buffer.count, bytes.count - position)
            for k in 0..<n { buffer[k] = bytes[position + k] }
            position += n
            return n
        }
    }

    private func readAll(_ bytes: [UInt8], chunk: Int) throws -> [(String, Int, Int)] {
        let r = reader(bytes, chunk: chunk)
        var out: [(String, Int, Int)] = []
        while let element = try r.next() {
            out.append((String(decoding: element.bytes, as: UTF8.self), element.line, element.offset))
        }
        XCTAssertNil(try r.next())
        XCTAssertNil(try r.next())
        return out
    }

    private func assertElements(_ actual: [(String, Int, Int)], _ expected: [(String, Int, Int)],
                                file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(actual.count, expected.count, file: file, line: line)
        for (a, e) in zip(actual, expected) {
            XCTAssertEqual(a.0, e.0, file: file, line: line)
            XCTAssertEqual(a.1, e.1, "line of \(e.0)", file: file, line: line)
            XCTAssertEqual(a.2, e.2, "offset of \(e.0)", file: file, line: line)
        }
    }

    private func assertStreamError(_ bytes: [UInt8], elementsBefore: Int, _ expected: JSONError,
                                   file: StaticString = #filePath, line: UInt = #line) {
        for chunk in [1, 3, 7, 64, 1 << 20] {
            let r = reader(bytes, chunk: chunk)
            do {
                for _ in 0..<elementsBefore {
                    XCTAssertNotNil(try r.next(), "chunk \(chunk)", file: file, line: line)
                }
                let extra = try r.next()
                XCTFail("chunk \(chunk): expected \(expected), got \(String(describing: extra))", file: file, line: line)
            } catch let e as JSONError {
                XCTAssertEqual(e, expected, "chunk \(chunk)", file: file, line: line)
                // The reader stays failed.
                XCTAssertThrowsError(try r.next(), file: file, line: line) { again in
                    XCTAssertEqual(again as? JSONError, expected, file: file, line: line)
                }
            } catch {
                XCTFail("chunk \(chunk): unexpected error \(error)", file: file, line: line)
            }
        }
    }

    static let document = """
    [
      {"instruction": "say \\"hi\\", ok", "input": "", "output": "a ] b , c } ["},
      {
        "instruction": "multi\\nline\\\\",
        "nested": [1, [2, {"x": "]}"}]], "o": {}
      },
      "plain string with \\\\\\" and ] and ,",
      12.5e3 ,
      true,null
      ,[],"\\\\",{},-0, "é😀"
    ]

    """

    static let expectedTexts = [
        #"{"instruction": "say \"hi\", ok", "input": "", "output": "a ] b , c } ["}"#,
        "{\n    \"instruction\": \"multi\\nline\\\\\",\n    \"nested\": [1, [2, {\"x\": \"]}\"}]], \"o\": {}\n  }",
        #""plain string with \\\" and ] and ,""#,
        "12.5e3", "true", "null", "[]", #""\\""#, "{}", "-0", "\"é😀\"",
    ]

    /// Expected (text, line, offset) computed from the document text.
    private func expected(in text: String, prefixBytes: Int = 0) -> [(String, Int, Int)] {
        let bytes = Array(text.utf8)
        var searchFrom = 0
        var result: [(String, Int, Int)] = []
        for element in Self.expectedTexts {
            let needle = Array(element.utf8)
            var found = -1
            var i = searchFrom
            while i + needle.count <= bytes.count {
                if Array(bytes[i..<(i + needle.count)]) == needle { found = i; break }
                i += 1
            }
            XCTAssertGreaterThanOrEqual(found, 0, element)
            let line = 1 + bytes[0..<max(found, 0)].filter { $0 == 0x0A }.count
            result.append((element, line, found + prefixBytes))
            searchFrom = found + needle.count
        }
        return result
    }

    func testElementsLinesAndOffsetsAcrossChunkSizes() throws {
        let bytes = Array(Self.document.utf8)
        let expected = expected(in: Self.document)
        // Spot-check the derivation.
        XCTAssertEqual(expected[0].1, 2)
        XCTAssertEqual(expected[0].2, 4)
        XCTAssertEqual(expected[1].1, 3)
        XCTAssertEqual(expected[2].1, 7)
        XCTAssertEqual(expected[3].1, 8)
        XCTAssertEqual(expected[4].1, 9)
        XCTAssertEqual(expected[6].1, 10)
        for chunk in [1, 2, 3, 7, 64, 1 << 20] {
            assertElements(try readAll(bytes, chunk: chunk), expected)
        }
        // Every element parses.
        let values = try readAll(bytes, chunk: 7).map { try JSONParser.parse($0.0) }
        XCTAssertEqual(values[0]["output"], .string("a ] b , c } ["))
        XCTAssertEqual(values[0]["instruction"], .string("say \"hi\", ok"))
        XCTAssertEqual(values[1]["instruction"], .string("multi\nline\\"))
        XCTAssertEqual(values[2], .string("plain string with \\\" and ] and ,"))
        XCTAssertEqual(values[10], .string("é😀"))
    }

    func testDefaultChunkSizeAndSingleRead() throws {
        let bytes = Array(Self.document.utf8)
        var done = false
        let r = JSONArrayStreamReader { buffer in
            if done { return 0 }
            done = true
            for k in 0..<bytes.count { buffer[k] = bytes[k] }
            return bytes.count
        }
        var got: [(String, Int, Int)] = []
        while let e = try r.next() { got.append((String(decoding: e.bytes, as: UTF8.self), e.line, e.offset)) }
        assertElements(got, expected(in: Self.document))
    }

    func testByteOrderMark() throws {
        let bytes: [UInt8] = [0xEF, 0xBB, 0xBF] + Array(Self.document.utf8)
        for chunk in [1, 3, 7, 64] {
            assertElements(try readAll(bytes, chunk: chunk), expected(in: Self.document, prefixBytes: 3))
        }
        assertElements(try readAll([0xEF, 0xBB, 0xBF] + Array("[1]".utf8), chunk: 1), [("1", 1, 4)])
        // A BOM is only skipped at the very start.
        assertStreamError([0x20, 0xEF, 0xBB, 0xBF] + Array("[1]".utf8), elementsBefore: 0,
                          JSONError(message: "expected '[' to start a JSON array", offset: 1, line: 1, column: 2))
    }

    func testElementsLargerThanChunk() throws {
        let big = "{\"output\": \"" + String(repeating: "0123456789 \\\"] ", count: 700) + "\", \"n\": [" +
            Array(repeating: "[1,2]", count: 300).joined(separator: ",") + "]}"
        let text = "[\n" + big + ",\n\"" + String(repeating: "x", count: 5000) + "\"]"
        let bytes = Array(text.utf8)
        for chunk in [1, 3, 16, 64, 4096] {
            let got = try readAll(bytes, chunk: chunk)
            assertElements(got, [(big, 2, 2), ("\"" + String(repeating: "x", count: 5000) + "\"", 3, 2 + big.utf8.count + 2)])
        }
        let parsed = try JSONParser.parse(big)
        XCTAssertEqual(parsed["output"]?.stringValue?.count, 700 * 14)
    }

    func testEmptyArrays() throws {
        for text in ["[]", " [ ] ", "\n[\n]\n\n", "\u{FEFF}[]"] {
            for chunk in [1, 3, 64] {
                XCTAssertTrue(try readAll(Array(text.utf8), chunk: chunk).isEmpty, text)
            }
        }
    }

    func testWhitespaceAfterClosingBracket() throws {
        assertElements(try readAll(Array("[1] \n\t\r\n  ".utf8), chunk: 1), [("1", 1, 1)])
        assertElements(try readAll(Array("[ 1 ,2\n]\n".utf8), chunk: 3), [("1", 1, 2), ("2", 1, 5)])
    }

    func testTrailingGarbage() {
        assertStreamError(Array("[1] x".utf8), elementsBefore: 1,
                          JSONError(message: "unexpected content after the closing ']' of the array", offset: 4, line: 1, column: 5))
        assertStreamError(Array("[1]\n[2]".utf8), elementsBefore: 1,
                          JSONError(message: "unexpected content after the closing ']' of the array", offset: 4, line: 2, column: 1))
        assertStreamError(Array("[]]".utf8), elementsBefore: 0,
                          JSONError(message: "unexpected content after the closing ']' of the array", offset: 2, line: 1, column: 3))
    }

    func testTruncatedInput() {
        let message = "unexpected end of input inside the array"
        assertStreamError(Array("[".utf8), elementsBefore: 0, JSONError(message: message, offset: 1, line: 1, column: 2))
        assertStreamError(Array("[1,\n".utf8), elementsBefore: 1, JSONError(message: message, offset: 4, line: 2, column: 1))
        assertStreamError(Array("[1, 2".utf8), elementsBefore: 1, JSONError(message: message, offset: 5, line: 1, column: 6))
        assertStreamError(Array("[{\"a\": [1, \"]\"".utf8), elementsBefore: 0, JSONError(message: message, offset: 14, line: 1, column: 15))
        assertStreamError(Array("[\"abc\\".utf8), elementsBefore: 0, JSONError(message: message, offset: 6, line: 1, column: 7))
        assertStreamError(Array("[{}\n,\n{}".utf8), elementsBefore: 2, JSONError(message: message, offset: 8, line: 3, column: 3))
    }

    func testStructuralErrors() {
        assertStreamError([], elementsBefore: 0,
                          JSONError(message: "unexpected end of input, expected '[' to start a JSON array", offset: 0, line: 1, column: 1))
        assertStreamError(Array(" \n {\"a\": 1}".utf8), elementsBefore: 0,
                          JSONError(message: "expected '[' to start a JSON array", offset: 3, line: 2, column: 2))
        assertStreamError(Array("[1 2]".utf8), elementsBefore: 1,
                          JSONError(message: "expected ',' or ']' after array element", offset: 3, line: 1, column: 4))
        assertStreamError(Array("[{}\n {}]".utf8), elementsBefore: 1,
                          JSONError(message: "expected ',' or ']' after array element", offset: 5, line: 2, column: 2))
        assertStreamError(Array("[\"a\"\"b\"]".utf8), elementsBefore: 1,
                          JSONError(message: "expected ',' or ']' after array element", offset: 4, line: 1, column: 5))
        assertStreamError(Array("[1,\n]".utf8), elementsBefore: 1,
                          JSONError(message: "expected a JSON value after ',' in array (trailing commas are not allowed)", offset: 4, line: 2, column: 1))
        assertStreamError(Array("[,1]".utf8), elementsBefore: 0,
                          JSONError(message: "expected a JSON value in array", offset: 1, line: 1, column: 2))
    }

    func testReadErrorsPropagate() {
        struct Boom: Error {}
        var calls = 0
        let r = JSONArrayStreamReader(chunkSize: 4) { buffer in
            calls += 1
            if calls == 1 {
                buffer[0] = UInt8(ascii: "[")
                buffer[1] = UInt8(ascii: "1")
                return 2
            }
            throw Boom()
        }
        XCTAssertThrowsError(try r.next()) { XCTAssertTrue($0 is Boom) }
        XCTAssertThrowsError(try r.next()) { XCTAssertTrue($0 is Boom) }
        XCTAssertEqual(calls, 2)
    }

    /// Random arrays of random values with random whitespace: elements, lines and offsets are known by construction.
    func testRandomArrays() throws {
        var rng = SplitMix64(seed: 42)
        func randomValue(_ depth: Int) -> JSONValue {
            switch rng.next() % (depth > 3 ? 4 : 6) {
            case 0: return [.null, .bool(true), .bool(false)][Int(rng.next() % 3)]
            case 1: return .number(["0", "-12", "3.25e-7", "1E9", "-0.0"][Int(rng.next() % 5)])
            case 2, 3:
                let pieces = ["a", "]", "[", ",", "\"", "\\", "\n", "}", "{", "é", "😀", " ", "\u{1}", "xyz0123456789"]
                return .string((0..<Int(rng.next() % 12)).map { _ in pieces[Int(rng.next() % UInt64(pieces.count))] }.joined())
            case 4: return .array((0..<Int(rng.next() % 4)).map { _ in randomValue(depth + 1) })
            default:
                return .object((0..<Int(rng.next() % 4)).map { i in (key: "k\(i)]\"", value: randomValue(depth + 1)) })
            }
        }
        let spaces: [[UInt8]] = [[], [0x20], [0x0A], [0x0D, 0x0A, 0x20, 0x20], [0x09]]
        for _ in 0..<60 {
            var doc: [UInt8] = []
            var expected: [(String, Int, Int)] = []
            var values: [JSONValue] = []
            func ws() { doc += spaces[Int(rng.next() % UInt64(spaces.count))] }
            ws(); doc.append(UInt8(ascii: "[")); ws()
            for k in 0..<Int(rng.next() % 8) {
                if k > 0 { doc.append(UInt8(ascii: ",")); ws() }
                let v = randomValue(0)
                var text: [UInt8] = []
                JSONWriter.append(v, to: &text)
                expected.append((String(decoding: text, as: UTF8.self), 1 + doc.filter { $0 == 0x0A }.count, doc.count))
                values.append(v)
                doc += text
                ws()
            }
            doc.append(UInt8(ascii: "]")); ws()
            for chunk in [1, 3, 7, 64] {
                let got = try readAll(doc, chunk: chunk)
                assertElements(got, expected)
                XCTAssertEqual(try got.map { try JSONParser.parse($0.0) }, values)
            }
        }
    }
}

final class JSONWriterTests: XCTestCase {
    private func literal(_ s: String) -> String {
        var out: [UInt8] = []
        JSONWriter.appendString(s, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    func testPythonCompatibleEscaping() {
        XCTAssertEqual(literal("\u{1F}"), #""\u001f""#)
        XCTAssertEqual(literal("é"), "\"é\"")
        XCTAssertEqual(literal("a/b"), #""a/b""#)
        XCTAssertEqual(literal(""), #""""#)
        XCTAssertEqual(literal("\"\\\n\r\t\u{8}\u{C}\u{0}\u{B}\u{7F}😀"), "\"\\\"\\\\\\n\\r\\t\\b\\f\\u0000\\u000b\u{7F}😀\"")
        XCTAssertEqual(literal("plain text, 世界"), "\"plain text, 世界\"")
        // All control characters, as Python's json.dumps(ensure_ascii=False) writes them.
        let controls = String(decoding: (0..<0x20).map { UInt8($0) }, as: UTF8.self)
        XCTAssertEqual(literal(controls),
                       #""\u0000\u0001\u0002\u0003\u0004\u0005\u0006\u0007\b\t\n\u000b\f\r\u000e\u000f"# +
                       #"\u0010\u0011\u0012\u0013\u0014\u0015\u0016\u0017\u0018\u0019\u001a\u001b\u001c\u001d\u001e\u001f""#)
        var out = Array("x".utf8)
        JSONWriter.appendString("y", to: &out)
        XCTAssertEqual(out, Array("x\"y\"".utf8))
    }

    func testCompactOutput() {
        let v = JSONValue.object([
            (key: "a", value: .array([.number("1"), .bool(true), .null, .string("x"), .bool(false)])),
            (key: "b", value: .object([])),
            (key: "c\"", value: .array([])),
            (key: "n", value: .number("-1.5e3")),
        ])
        XCTAssertEqual(JSONWriter.string(v), #"{"a":[1,true,null,"x",false],"b":{},"c\"":[],"n":-1.5e3}"#)
        XCTAssertEqual(JSONWriter.string(.null), "null")
        XCTAssertEqual(JSONWriter.string(.string("é\n")), "\"é\\n\"")
        var out: [UInt8] = []
        JSONWriter.append(.array([.number("2")]), to: &out)
        JSONWriter.append(.bool(true), to: &out)
        XCTAssertEqual(String(decoding: out, as: UTF8.self), "[2]true")
    }

    func testRoundTrip() throws {
        let controls = String(decoding: (0..<0x20).map { UInt8($0) }, as: UTF8.self)
        let v = JSONValue.object([
            (key: "instruction", value: .string("Say \"hi\" \\ to 世界 😀\n\ttab/slash")),
            (key: "input", value: .string("")),
            (key: "controls", value: .string(controls)),
            (key: "numbers", value: .array([.number("0"), .number("-0.5"), .number("1E+2"), .number("123456789012345678901")])),
            (key: "nested", value: .array([.array([.object([(key: "", value: .null)])]), .bool(false)])),
            (key: "dup", value: .number("1")),
            (key: "dup", value: .number("2")),
        ])
        let text = JSONWriter.string(v)
        XCTAssertEqual(try JSONParser.parse(text), v)
        var bytes: [UInt8] = []
        JSONWriter.append(v, to: &bytes)
        XCTAssertEqual(try JSONParser.parse(bytes), v)
        // Compact input survives parse → write unchanged.
        let compact = #"{"a":[1,-2.5e-3,"é\n\u001f",{"b":null}],"c":true,"a":{}}"#
        XCTAssertEqual(JSONWriter.string(try JSONParser.parse(compact)), compact)
    }
}

