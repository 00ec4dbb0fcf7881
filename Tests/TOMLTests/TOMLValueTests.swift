import XCTest
@testable import TOML

/// Parses `text`, failing the test (and returning an empty table) on an error.
func parsed(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> TOMLTable {
    do { return try TOML.parse(text, file: "t.toml") } catch {
        XCTFail("unexpected error: \(error)", file: file, line: line)
        return TOMLTable()
    }
}

/// The value of `key = ...` in a one-line document.
func value(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> TOMLValue? {
    parsed(text, file: file, line: line)["v"]
}

final class TOMLValueTests: XCTestCase {
    func testComments() {
        let t = parsed("# leading\n\n  v = 1 # trailing\t# more\n# last")
        XCTAssertEqual(t, ["v": 1])
        XCTAssertEqual(TOMLTable(), parsed(""))
        XCTAssertEqual(TOMLTable(), parsed("\n\n   \t\n#"))
    }

    func testKeys() {
        let t = parsed("""
        bare_key-1 = 1
        1234 = 2
        "quoted key" = 3
        'literal "key"' = 4
        "" = 5
        "\\u00e9" = 6
        a . b  .  "c.d" = 7
        3.14 = 8
        """)
        XCTAssertEqual(t.keys, ["bare_key-1", "1234", "quoted key", "literal \"key\"", "", "é", "a", "3"])
        XCTAssertEqual(t["a"], ["b": ["c.d": 7]])
        XCTAssertEqual(t["3"], ["14": 8])
        XCTAssertEqual(t[""], 5)
    }

    func testBasicStrings() {
        XCTAssertEqual(value(#"v = "a\b\t\n\f\r\"\\z""#), .string("a\u{08}\t\n\u{0C}\r\"\\z"))
        XCTAssertEqual(value(#"v = "\u00E9\U0001F600\u0000""#), .string("é😀\u{0}"))
        XCTAssertEqual(value("v = \"tab\there é 😀\""), .string("tab\there é 😀"))
        XCTAssertEqual(value(#"v = """#), .string(""))
        XCTAssertEqual(value(##"v = "# not a comment""##), .string("# not a comment"))
    }

    func testLiteralStrings() {
        XCTAssertEqual(value(#"v = 'C:\Users\nodejs\templates'"#), .string(#"C:\Users\nodejs\templates"#))
        XCTAssertEqual(value(#"v = '<\i\c*\s*>'"#), .string(#"<\i\c*\s*>"#))
        XCTAssertEqual(value("v = ''"), .string(""))
    }

    func testMultilineBasicStrings() {
        XCTAssertEqual(value("v = \"\"\"\nRoses are red\nViolets are blue\"\"\""), .string("Roses are red\nViolets are blue"))
        // Only the first newline is trimmed; CRLF becomes LF.
        XCTAssertEqual(value("v = \"\"\"\r\n\r\none\r\n\"\"\""), .string("\none\n"))
        XCTAssertEqual(value("v = \"\"\"\nThe quick \\\n\n   brown \\   \n  fox.\"\"\""), .string("The quick brown fox."))
        XCTAssertEqual(value("v = \"\"\"a \\\t\n\"\"\""), .string("a "))
        XCTAssertEqual(value(#"v = """Here are two quotation marks: "". Simple enough.""""#), .string(#"Here are two quotation marks: "". Simple enough."#))
        XCTAssertEqual(value(#"v = """Here are three quotation marks: ""\".""""#), .string(#"Here are three quotation marks: """."#))
        XCTAssertEqual(value(#"v = """"This," she said, "is just a pointless statement."""""#),
                       .string(#""This," she said, "is just a pointless statement.""#))
        XCTAssertEqual(value(#"v = """""""#), .string(""))
        XCTAssertEqual(value(#"v = """"""""#), .string("\""))
        XCTAssertEqual(value("v = \"\"\"tab\there\"\"\""), .string("tab\there"))
    }

    func testMultilineLiteralStrings() {
        XCTAssertEqual(value("v = '''\nI [dw]on't need \\d{2} apples'''"), .string("I [dw]on't need \\d{2} apples"))
        XCTAssertEqual(value("v = '''\nThe first newline is\ntrimmed in raw strings.\n   All other whitespace\n   is preserved. \\\n'''"),
                       .string("The first newline is\ntrimmed in raw strings.\n   All other whitespace\n   is preserved. \\\n"))
        XCTAssertEqual(value("v = '''Here are fifteen quotation marks: \"\"\"\"\"\"\"\"\"\"\"\"\"\"\"'''"),
                       .string("Here are fifteen quotation marks: \"\"\"\"\"\"\"\"\"\"\"\"\"\"\""))
        XCTAssertEqual(value("v = ''''That,' she said, 'is still pointless.''''"), .string("'That,' she said, 'is still pointless.'"))
    }

    func testIntegers() {
        let cases: [(String, Int64)] = [
            ("+99", 99), ("42", 42), ("0", 0), ("-17", -17), ("+0", 0), ("-0", 0),
            ("1_000", 1000), ("5_349_221", 5_349_221), ("53_49_221", 5_349_221), ("1_2_3_4_5", 12345),
            ("0xDEADBEEF", 0xDEADBEEF), ("0xdeadbeef", 0xDEADBEEF), ("0xdead_beef", 0xDEADBEEF),
            ("0o01234567", 0o1234567), ("0o755", 0o755), ("0b11010110", 0b11010110), ("0b1_0", 2), ("0x00", 0),
            ("9223372036854775807", .max), ("-9223372036854775808", .min), ("0x7FFFFFFFFFFFFFFF", .max),
        ]
        for (text, expected) in cases {
            XCTAssertEqual(value("v = \(text)"), .integer(expected), text)
        }
    }

    func testFloats() {
        let cases: [(String, Double)] = [
            ("+1.0", 1), ("3.1415", 3.1415), ("-0.01", -0.01), ("5e+22", 5e22), ("1e06", 1e6), ("-2E-2", -0.02),
            ("6.626e-34", 6.626e-34), ("224_617.445_991_228", 224_617.445_991_228), ("0e0", 0), ("1e1_0", 1e10),
            ("0.0", 0), ("+0.0", 0), ("inf", .infinity), ("+inf", .infinity), ("-inf", -.infinity), ("1e400", .infinity),
        ]
        for (text, expected) in cases {
            XCTAssertEqual(value("v = \(text)"), .float(expected), text)
        }
        guard case .float(let negativeZero)? = value("v = -0.0"), case .float(let nan)? = value("v = nan"),
              case .float(let negativeNaN)? = value("v = -nan"), case .float(let positiveNaN)? = value("v = +nan") else {
            return XCTFail("not floats")
        }
        XCTAssertEqual(negativeZero.sign, .minus)
        XCTAssertTrue(nan.isNaN && negativeNaN.isNaN && positiveNaN.isNaN)
        XCTAssertEqual(value("v = nan"), value("v = nan"))  // NaN equals NaN in TOMLValue
    }

    func testBooleans() {
        XCTAssertEqual(parsed("t = true\nf = false"), ["t": true, "f": false])
    }

    func testDateTimes() {
        let cases: [(String, String, TOMLDateTime.Kind)] = [
            ("1979-05-27T07:32:00Z", "1979-05-27T07:32:00Z", .offsetDateTime),
            ("1979-05-27T00:32:00-07:00", "1979-05-27T00:32:00-07:00", .offsetDateTime),
            ("1979-05-27T00:32:00.999999+07:00", "1979-05-27T00:32:00.999999+07:00", .offsetDateTime),
            ("1979-05-27 07:32:00z", "1979-05-27T07:32:00Z", .offsetDateTime),
            ("1979-05-27t07:32:00", "1979-05-27T07:32:00", .localDateTime),
            ("1979-05-27 00:32:00.5", "1979-05-27T00:32:00.5", .localDateTime),
            ("1979-05-27", "1979-05-27", .localDate),
            ("2000-02-29", "2000-02-29", .localDate),
            ("2024-02-29", "2024-02-29", .localDate),
            ("0000-01-01", "0000-01-01", .localDate),
            ("07:32:00", "07:32:00", .localTime),
            ("23:59:59.999999999", "23:59:59.999999999", .localTime),
        ]
        for (text, normalised, kind) in cases {
            XCTAssertEqual(value("v = \(text)"), .dateTime(TOMLDateTime(text: normalised, kind: kind)), text)
        }
        // A date followed by a space and something that is not a time stays a date.
        XCTAssertEqual(value("v = 1979-05-27 # comment"), .dateTime(TOMLDateTime(text: "1979-05-27", kind: .localDate)))
        XCTAssertEqual(value("v = [1979-05-27 ,07:32:00]"), [.dateTime(TOMLDateTime(text: "1979-05-27", kind: .localDate)),
                                                            .dateTime(TOMLDateTime(text: "07:32:00", kind: .localTime))])
    }

    func testArrays() {
        XCTAssertEqual(value("v = []"), .array([]))
        XCTAssertEqual(value("v = [ 1, 2, 3 ]"), [1, 2, 3])
        XCTAssertEqual(value("v = [ \"red\", 'yellow', \"\"\"green\"\"\" ]"), ["red", "yellow", "green"])
        XCTAssertEqual(value("v = [ [ 1, 2 ], [3, 4, 5] ]"), [[1, 2], [3, 4, 5]])
        XCTAssertEqual(value("v = [ [ 1, 2 ], [\"a\", 'b', 'c'] ]"), [[1, 2], ["a", "b", "c"]])
        XCTAssertEqual(value("v = [ 0.1, 0.2, 0.5, 1, 2, 5 ]"), [0.1, 0.2, 0.5, 1, 2, 5])
        XCTAssertEqual(value("v = [1, \"two\", 3.0, true, {x = 1}, [], 1979-05-27]"),
                       [1, "two", 3.0, true, ["x": 1], [], .dateTime(TOMLDateTime(text: "1979-05-27", kind: .localDate))])
        XCTAssertEqual(value("v = [\n  1, # one\n  # nothing\n\n  2,\n]"), [1, 2])
        XCTAssertEqual(value("v = [\r\n  1,\r\n  2\r\n  ]"), [1, 2])
        XCTAssertEqual(value("v = [{a = 1}, {a = 2, b = {c = [3]}}]"), [["a": 1], ["a": 2, "b": ["c": [3]]]])
    }

    func testInlineTables() {
        let t = parsed("""
        name = { first = "Tom", last = "Preston-Werner" }
        point = {x=1,y=2}
        animal = { type.name = "pug", type . size = "small" }
        empty = {}
        nested = { a = { b = { c = [ 1,
          2 ] } } }
        """)
        XCTAssertEqual(t["name"], ["first": "Tom", "last": "Preston-Werner"])
        XCTAssertEqual(t["point"], ["x": 1, "y": 2])
        XCTAssertEqual(t["animal"], ["type": ["name": "pug", "size": "small"]])
        XCTAssertEqual(t["empty"], .table(TOMLTable()))
        XCTAssertEqual(t["nested"], ["a": ["b": ["c": [1, 2]]]])
        guard case .table(let animal)? = t["animal"] else { return XCTFail() }
        XCTAssertEqual(animal.keys, ["type"])
    }

    func testTables() {
        let t = parsed("""
        top = 0
        [table-1]
        key1 = "some string"
        key2 = 123

        [ dog . "tater.man" ]
        type.name = "pug"

        [x.y.z.w]
        [x]
        a = 1
        [fruit]
        apple.color = "red"
        apple.taste.sweet = true
        [fruit.apple.texture]
        smooth = true
        """)
        XCTAssertEqual(t.keys, ["top", "table-1", "dog", "x", "fruit"])
        XCTAssertEqual(t["table-1"], ["key1": "some string", "key2": 123])
        XCTAssertEqual(t["dog"], ["tater.man": ["type": ["name": "pug"]]])
        XCTAssertEqual(t["x"], ["y": ["z": ["w": .table(TOMLTable())]], "a": 1])
        XCTAssertEqual(t["fruit"], ["apple": ["color": "red", "taste": ["sweet": true], "texture": ["smooth": true]]])
    }

    func testDottedKeysIntoImplicitTable() {
        // b was only named by [a.b.c], so dotted keys under [a] may still add to it (as tomllib does).
        XCTAssertEqual(parsed("[a.b.c]\nz = 1\n[a]\nb.d = 2"), ["a": ["b": ["c": ["z": 1], "d": 2]]])
    }

    func testArraysOfTables() {
        let t = parsed("""
        [[products]]
        name = "Hammer"
        sku = 738594937

        [[products]]  # empty table within the array

        [[products]]
        name = "Nail"
        color = "gray"

        [[fruits]]
        name = "apple"
        [fruits.physical]
        color = "red"
        [[fruits.varieties]]
        name = "red delicious"
        [[fruits.varieties]]
        name = "granny smith"
        [[fruits]]
        name = "banana"
        [[fruits.varieties]]
        name = "plantain"
        """)
        XCTAssertEqual(t["products"], [["name": "Hammer", "sku": 738594937], .table(TOMLTable()), ["name": "Nail", "color": "gray"]])
        XCTAssertEqual(t["fruits"], [
            ["name": "apple", "physical": ["color": "red"], "varieties": [["name": "red delicious"], ["name": "granny smith"]]],
            ["name": "banana", "varieties": [["name": "plantain"]]],
        ])
    }

    func testLineEndingsAndBOM() {
        XCTAssertEqual(parsed("\u{FEFF}a = 1\r\n[t]\r\nb = 'x' # c\r\n"), ["a": 1, "t": ["b": "x"]])
    }

    func testTableEqualityIgnoresOrderAndPositions() {
        XCTAssertEqual(parsed("a = 1\nb = 2"), parsed("\n  b = 2\na = 1"))
        XCTAssertNotEqual(parsed("a = 1\nb = 2"), parsed("a = 1"))
        XCTAssertNotEqual(parsed("a = 1"), parsed("a = 1.0"))
        XCTAssertEqual(parsed("b = 2\na = 1").keys, ["b", "a"])
    }

    func testTypeNames() {
        let values: [TOMLValue] = ["s", 1, 1.5, true, .dateTime(TOMLDateTime(text: "07:00:00", kind: .localTime)), [], [:]]
        XCTAssertEqual(values.map(\.typeName), ["a string", "an integer", "a float", "a boolean", "a date-time", "an array", "a table"])
    }

    func testFormatKey() {
        XCTAssertEqual(TOML.formatKey("gpt-4o"), "gpt-4o")
        XCTAssertEqual(TOML.formatKey("gpt-3.5-turbo"), "\"gpt-3.5-turbo\"")
        XCTAssertEqual(TOML.formatKey(""), "\"\"")
        XCTAssertEqual(TOML.formatKey("a\"b\\c\n\u{1}"), #""a\"b\\c\n\u0001""#)
    }
}
