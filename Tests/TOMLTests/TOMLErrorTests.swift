import XCTest
@testable import TOML

final class TOMLErrorTests: XCTestCase {
    /// Each document is invalid; the error must be exactly at (line, column) with this message.
    static let cases: [(doc: String, line: Int, column: Int, message: String)] = [
        // Structure
        ("a = 1\nb", 2, 2, #"expected '=' after key "b", found end of file"#),
        ("model gpt", 1, 7, #"expected '=' after key "model", found 'g'"#),
        ("a = 1\nb = ", 2, 5, "expected a value, found end of file"),
        ("a =\nb = 1", 1, 4, "expected a value, found end of line"),
        ("a = 1 2", 1, 7, "expected end of line after value, found '2'"),
        ("v = 1 # ok\r", 1, 11, "control character U+000D is not allowed in a comment"),
        ("v = 1\r", 1, 6, "expected end of line after value, found U+000D"),
        ("= 1", 1, 1, "expected a key, found '='"),
        ("é = 1", 1, 1, "expected a key, found 'é'"),
        ("a.= 1", 1, 3, "expected a key, found '='"),
        ("\"a\nb\" = 1", 1, 1, "unterminated string"),
        ("\"\"\"k\"\"\" = 1", 1, 3, #"expected '=' after key "", found '"'"#),
        ("[]", 1, 2, "expected a key, found ']'"),
        ("[a", 1, 3, "expected ']' at end of table header, found end of file"),
        ("[[a]", 1, 4, "expected ']]' at end of table header, found ']'"),
        ("[a] b = 1", 1, 5, "expected end of line after table header, found 'b'"),
        ("[ [a]]", 1, 3, "expected a key, found '['"),
        // Redefinition
        ("a = 1\nmodel = 2\nmodel = 3", 3, 1, #"duplicate key "model" (first defined at line 2)"#),
        ("a.b = 1\na.b = 2", 2, 1, #"duplicate key "a.b" (first defined at line 1)"#),
        ("\"a b\" = 1\n'a b' = 2", 2, 1, #"duplicate key "a b" (first defined at line 1)"#),
        ("[a]\nb = 1\n[a]", 3, 1, "duplicate table [a] (first defined at line 1)"),
        ("[a]\n[a.b]\n[a]", 3, 1, "duplicate table [a] (first defined at line 1)"),
        ("[a.\"b.c\"]\n[ a . 'b.c' ]", 2, 1, #"duplicate table [a."b.c"] (first defined at line 1)"#),
        ("[a]\nb.c = 1\n[a.b]", 3, 1, "cannot define table [a.b]: already defined by dotted keys at line 2"),
        ("a.b = 1\n[a]", 2, 1, "cannot define table [a]: already defined by dotted keys at line 1"),
        ("[[a]]\nb.c = 1\n[a.b]", 3, 1, "cannot define table [a.b]: already defined by dotted keys at line 2"),
        ("a = 1\n[a]", 2, 1, "cannot define table [a]: already defined as an integer at line 1"),
        ("a = 1\n[a.b]", 2, 2, #"cannot define table [a.b]: key "a" is already defined as an integer at line 1"#),
        ("a = {}\n[a]", 2, 1, "cannot define table [a]: already defined as an inline table at line 1"),
        ("a = {b = {}}\n[a.b.c]", 2, 2, #"cannot define table [a.b.c]: key "a" is already defined as an inline table at line 1"#),
        ("[a]\nb = 1\n[a.b]", 3, 1, "cannot define table [a.b]: already defined as an integer at line 2"),
        ("a = [1]\n[[a]]", 2, 1, #"cannot append to static array "a" (defined at line 1) with [[a]]"#),
        ("a = [{}]\n[[a]]", 2, 1, #"cannot append to static array "a" (defined at line 1) with [[a]]"#),
        ("[a]\n[[a]]", 2, 1, "cannot define array of tables [[a]]: already defined as a table at line 1"),
        ("[[a]]\n[a]", 2, 1, "cannot define table [a]: already defined as an array of tables at line 1"),
        ("a = {x = 1}\na.y = 2", 2, 1, #"key "a" is already defined as an inline table at line 1"#),
        ("a = \"x\"\na.b = 1", 2, 1, #"key "a" is already defined as a string at line 1"#),
        ("[a.b]\nx = 1\n[a]\nb.y = 2", 4, 1, #"cannot add keys to table "b" with a dotted key: it was defined at line 1"#),
        ("[a.b.c]\nz = 9\n[a]\nb.c.t = 1", 4, 3, #"cannot add keys to table "b.c" with a dotted key: it was defined at line 1"#),
        ("[[a.b]]\n[a]\nb.c = 1", 3, 1, #"cannot add keys to array of tables "b" with a dotted key (defined at line 1)"#),
        // Inline tables and arrays
        ("v = {a = 1, a = 2}", 1, 13, #"duplicate key "a" (first defined at line 1)"#),
        ("v = {a.b = 1, a = 2}", 1, 15, #"duplicate key "a" (first defined at line 1)"#),
        ("v = {a = {}, a.b = 1}", 1, 14, #"key "a" is already defined as an inline table at line 1"#),
        ("v = {a = 1,}", 1, 11, "trailing comma is not allowed in an inline table"),
        ("v = {a = 1\n}", 1, 11, "newlines are not allowed in inline tables"),
        ("v = {\na = 1}", 1, 6, "newlines are not allowed in inline tables"),
        ("v = {a = 1", 1, 5, "unterminated inline table"),
        ("v = {a = 1 b = 2}", 1, 12, "expected ',' or '}' after inline table value, found 'b'"),
        ("v = [1, 2", 1, 5, "unterminated array"),
        ("v = [1 2]", 1, 8, "expected ',' or ']' after array element, found '2'"),
        ("v = [1\nb = 2", 2, 1, "expected ',' or ']' after array element, found 'b'"),
        ("v = [,]", 1, 6, "expected a value, found ','"),
        ("v = [1,,2]", 1, 8, "expected a value, found ','"),
        ("v = [ # bell\u{7}\n]", 1, 13, "control character U+0007 is not allowed in a comment"),
        ("v = " + String(repeating: "[", count: 200), 1, 133,
         "arrays and inline tables are nested too deeply"),
        // Strings
        ("v = \"abc", 1, 5, "unterminated string"),
        ("v = \"abc\nx = 1", 1, 5, "unterminated string"),
        ("a = 1\r\n[t]\r\nx = \"y", 3, 5, "unterminated string"),
        ("v = \"\"\"abc\n\n", 1, 5, "unterminated string"),
        ("v = 'abc", 1, 5, "unterminated string"),
        ("v = 'abc\n'", 1, 5, "unterminated string"),
        ("v = '''abc''", 1, 5, "unterminated string"),
        ("v = \"\"\"a\"\"\"\"\"\"", 1, 14, #"expected end of line after value, found '"'"#),
        (#"v = "a\qb""#, 1, 7, #"invalid escape \q"#),
        (#"v = "a\xb""#, 1, 7, #"invalid escape \x"#),
        (#"v = "\e""#, 1, 6, #"invalid escape \e"#),
        (#"v = "a\ b""#, 1, 7, #"invalid escape: '\' followed by ' '"#),
        (#"v = "\u12G4""#, 1, 6, #"invalid escape \u12 (expected 4 hexadecimal digits)"#),
        (#"v = "\U0001F60""#, 1, 6, #"invalid escape \U0001F60 (expected 8 hexadecimal digits)"#),
        (#"v = "\uD800""#, 1, 6, #"invalid escape \uD800 (not a Unicode scalar value)"#),
        (#"v = "\U00110000""#, 1, 6, #"invalid escape \U00110000 (not a Unicode scalar value)"#),
        (#"v = """a\  b""""#, 1, 9, #"invalid escape: '\' may only be followed by whitespace at the end of a line"#),
        ("v = \"a\u{7}b\"", 1, 7, "control character U+0007 is not allowed in a string"),
        ("v = 'a\u{7F}b'", 1, 7, "control character U+007F is not allowed in a string"),
        ("v = \"\"\"\na\u{0}\"\"\"", 2, 2, "control character U+0000 is not allowed in a string"),
        ("v = '''a\rb'''", 1, 9, "control character U+000D is not allowed in a string"),
        ("v = 1 # bell\u{7}", 1, 13, "control character U+0007 is not allowed in a comment"),
        // Numbers
        ("v = 0123", 1, 5, #"invalid number "0123" (leading zeros are not allowed)"#),
        ("v = -01", 1, 5, #"invalid number "-01" (leading zeros are not allowed)"#),
        ("v = 01.5", 1, 5, #"invalid number "01.5" (leading zeros are not allowed)"#),
        ("v = 1__0", 1, 5, #"invalid number "1__0""#),
        ("v = _1", 1, 5, #"invalid number "_1""#),
        ("v = 1_", 1, 5, #"invalid number "1_""#),
        ("v = +0x10", 1, 5, #"invalid number "+0x10""#),
        ("v = 0X10", 1, 5, #"invalid number "0X10""#),
        ("v = 0xG", 1, 5, #"invalid number "0xG""#),
        ("v = 0x_1", 1, 5, #"invalid number "0x_1""#),
        ("v = 0b102", 1, 5, #"invalid number "0b102""#),
        ("v = 0o8", 1, 5, #"invalid number "0o8""#),
        ("v = 9223372036854775808", 1, 5, "integer 9223372036854775808 is out of range (64-bit signed integers only)"),
        ("v = -9223372036854775809", 1, 5, "integer -9223372036854775809 is out of range (64-bit signed integers only)"),
        ("v = 0x8000000000000000", 1, 5, "integer 0x8000000000000000 is out of range (64-bit signed integers only)"),
        ("v = 1.", 1, 5, #"invalid number "1." (expected digits after '.')"#),
        ("v = .5", 1, 5, #"invalid number ".5""#),
        ("v = 1.e5", 1, 5, #"invalid number "1.e5" (expected digits after '.')"#),
        ("v = 1e", 1, 5, #"invalid number "1e" (expected digits in the exponent)"#),
        ("v = 1e_5", 1, 5, #"invalid number "1e_5" (expected digits in the exponent)"#),
        ("v = 1._5", 1, 5, #"invalid number "1._5" (expected digits after '.')"#),
        ("v = 1.5_", 1, 5, #"invalid number "1.5_" (expected digits after '.')"#),
        ("v = 1e5.0", 1, 5, #"invalid number "1e5.0" (expected digits in the exponent)"#),
        ("v = 1 000", 1, 7, "expected end of line after value, found '0'"),
        // Bare words
        ("v = gpt4", 1, 5, #"invalid value "gpt4" (strings must be quoted)"#),
        ("v = True", 1, 5, #"invalid value "True" (did you mean true?)"#),
        ("v = tru", 1, 5, #"invalid value "tru" (strings must be quoted)"#),
        ("v = Inf", 1, 5, #"invalid value "Inf" (did you mean inf?)"#),
        ("v = @", 1, 5, "expected a value, found '@'"),
        // Dates and times
        ("v = 1979-13-01", 1, 5, #"invalid date-time "1979-13-01" (month must be 01 to 12)"#),
        ("v = 1979-00-01", 1, 5, #"invalid date-time "1979-00-01" (month must be 01 to 12)"#),
        ("v = 1979-02-29", 1, 5, #"invalid date-time "1979-02-29" (day must be 01 to 28 in that month)"#),
        ("v = 1900-02-29", 1, 5, #"invalid date-time "1900-02-29" (day must be 01 to 28 in that month)"#),
        ("v = 1979-04-31", 1, 5, #"invalid date-time "1979-04-31" (day must be 01 to 30 in that month)"#),
        ("v = 1979-01-00", 1, 5, #"invalid date-time "1979-01-00" (day must be 01 to 31 in that month)"#),
        ("v = 1979-1-01", 1, 5, #"invalid date-time "1979-1-01""#),
        ("v = 24:00:00", 1, 5, #"invalid date-time "24:00:00" (time out of range)"#),
        ("v = 07:60:00", 1, 5, #"invalid date-time "07:60:00" (time out of range)"#),
        ("v = 07:32:60", 1, 5, #"invalid date-time "07:32:60" (time out of range)"#),
        ("v = 07:32", 1, 5, #"invalid date-time "07:32" (times are written HH:MM:SS)"#),
        ("v = 7:32:00", 1, 5, #"invalid number "7:32:00""#),
        ("v = 07:32:00.", 1, 5, #"invalid date-time "07:32:00." (expected digits after '.')"#),
        ("v = 07:32:00Z", 1, 5, #"invalid date-time "07:32:00Z""#),
        ("v = 1979-05-27T07:32:00+24:00", 1, 5, #"invalid date-time "1979-05-27T07:32:00+24:00" (offset out of range)"#),
        ("v = 1979-05-27T07:32:00.5+05", 1, 5, #"invalid date-time "1979-05-27T07:32:00.5+05" (offsets are written Z or +HH:MM)"#),
        ("v = 1979-05-27T07:32:00X", 1, 5, #"invalid date-time "1979-05-27T07:32:00X""#),
        ("v = 1979-05-27T", 1, 5, #"invalid date-time "1979-05-27T" (times are written HH:MM:SS)"#),
        ("v = 1979-05-27 07", 1, 16, "expected end of line after value, found '0'"),
    ]

    func testErrors() {
        for (doc, line, column, message) in Self.cases {
            XCTAssertThrowsError(try TOML.parse(doc, file: "herd.toml"), doc.debugDescription) { error in
                XCTAssertEqual(error as? TOMLError, TOMLError(file: "herd.toml", line: line, column: column, message: message),
                               doc.debugDescription)
            }
        }
    }

    func testDescription() {
        XCTAssertThrowsError(try TOML.parse("[teacher]\nmodel = 'a'\nmodel = 'b'\n", file: "herd.toml")) { error in
            XCTAssertEqual("\(error)", #"herd.toml:3:1: duplicate key "model" (first defined at line 2)"#)
            XCTAssertEqual(error.localizedDescription, #"herd.toml:3:1: duplicate key "model" (first defined at line 2)"#)
        }
        XCTAssertThrowsError(try TOML.parse("a = ")) { error in
            XCTAssertEqual("\(error)", "<input>:1:5: expected a value, found end of file")
        }
    }

    func testColumnsCountUnicodeScalars() {
        XCTAssertThrowsError(try TOML.parse("v = \"é😀\" x")) { error in
            XCTAssertEqual((error as? TOMLError)?.column, 10)
        }
    }
}
