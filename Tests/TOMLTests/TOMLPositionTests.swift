import XCTest
@testable import TOML

final class TOMLPositionTests: XCTestCase {
    private func p(_ line: Int, _ column: Int) -> TOMLPosition { TOMLPosition(line: line, column: column) }

    private func table(_ value: TOMLValue?, file: StaticString = #filePath, line: UInt = #line) -> TOMLTable {
        guard case .table(let t)? = value else {
            XCTFail("not a table: \(String(describing: value))", file: file, line: line)
            return TOMLTable()
        }
        return t
    }

    func testPositions() {
        let root = parsed("""
        title = "x"
        [teacher]
        model = "m"
          temperature = 0.5
        [prices]
        "gpt-3.5-turbo" = 1
        a.b.c = 2
        inline = { x = 1, y.z = 2 }
        [[models]]
        name = "a"
        [[models]]
          name = "b"
        [x.y.z]
        [x]
        """)
        XCTAssertEqual(root.position, p(1, 1))
        XCTAssertEqual(root.position(of: "title"), p(1, 1))
        XCTAssertEqual(root.position(of: "teacher"), p(2, 2))
        XCTAssertNil(root.position(of: "missing"))

        let teacher = table(root["teacher"])
        XCTAssertEqual(teacher.position, p(2, 1))
        XCTAssertEqual(teacher.position(of: "model"), p(3, 1))
        XCTAssertEqual(teacher.position(of: "temperature"), p(4, 3))

        let prices = table(root["prices"])
        XCTAssertEqual(prices.position(of: "gpt-3.5-turbo"), p(6, 1))
        XCTAssertEqual(prices.position(of: "a"), p(7, 1))
        let a = table(prices["a"])
        XCTAssertEqual(a.position, p(7, 1))
        XCTAssertEqual(a.position(of: "b"), p(7, 3))
        XCTAssertEqual(table(a["b"]).position(of: "c"), p(7, 5))

        XCTAssertEqual(prices.position(of: "inline"), p(8, 1))
        let inline = table(prices["inline"])
        XCTAssertEqual(inline.position, p(8, 10))
        XCTAssertEqual(inline.position(of: "x"), p(8, 12))
        XCTAssertEqual(inline.position(of: "y"), p(8, 19))
        XCTAssertEqual(table(inline["y"]).position, p(8, 19))
        XCTAssertEqual(table(inline["y"]).position(of: "z"), p(8, 21))

        XCTAssertEqual(root.position(of: "models"), p(9, 3))
        guard case .array(let models)? = root["models"], models.count == 2 else { return XCTFail("models") }
        XCTAssertEqual(table(models[0]).position, p(9, 1))
        XCTAssertEqual(table(models[0]).position(of: "name"), p(10, 1))
        XCTAssertEqual(table(models[1]).position, p(11, 1))
        XCTAssertEqual(table(models[1]).position(of: "name"), p(12, 3))

        // x was first named by [x.y.z] and defined later by [x].
        XCTAssertEqual(root.position(of: "x"), p(13, 2))
        let x = table(root["x"])
        XCTAssertEqual(x.position, p(14, 1))
        XCTAssertEqual(x.position(of: "y"), p(13, 4))
        XCTAssertEqual(table(x["y"]).position, p(13, 4))
        XCTAssertEqual(table(table(x["y"])["z"]).position, p(13, 1))
        XCTAssertEqual(root.keys, ["title", "teacher", "prices", "models", "x"])
    }

    func testPositionsCountScalarsAndSkipBOMAndCRLF() {
        let root = parsed("\u{FEFF}\"é\" = 1\r\n\"😀\" = 2\r\n\tx = 3")
        XCTAssertEqual(root.position(of: "é"), p(1, 1))
        XCTAssertEqual(root.position(of: "😀"), p(2, 1))
        XCTAssertEqual(root.position(of: "x"), p(3, 2))
    }

    // MARK: Files

    private func temporaryFile(_ bytes: [UInt8]) throws -> String {
        let path = NSTemporaryDirectory() + "toml-test-\(UUID().uuidString).toml"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        return path
    }

    func testParseFile() throws {
        let path = try temporaryFile(Array("[teacher]\nmodel = \"é\"\n".utf8))
        XCTAssertEqual(try TOML.parse(contentsOfFile: path), ["teacher": ["model": "é"]])

        let bad = try temporaryFile(Array("[teacher]\nmodel = \n".utf8))
        XCTAssertThrowsError(try TOML.parse(contentsOfFile: bad)) { error in
            XCTAssertEqual(error as? TOMLError, TOMLError(file: bad, line: 2, column: 9, message: "expected a value, found end of line"))
        }
    }

    func testInvalidUTF8() throws {
        let path = try temporaryFile(Array("a = 1\nb = \"é".utf8) + [0xFF] + Array("\"\n".utf8))
        XCTAssertThrowsError(try TOML.parse(contentsOfFile: path)) { error in
            XCTAssertEqual(error as? TOMLError,
                           TOMLError(file: path, line: 2, column: 7, message: "invalid UTF-8 (TOML files must be UTF-8 encoded)"))
        }
        // An encoded surrogate is not UTF-8 either.
        let surrogate = try temporaryFile(Array("a = '".utf8) + [0xED, 0xA0, 0x80] + Array("'".utf8))
        XCTAssertThrowsError(try TOML.parse(contentsOfFile: surrogate)) { error in
            XCTAssertEqual((error as? TOMLError)?.line, 1)
            XCTAssertEqual((error as? TOMLError)?.column, 6)
        }
    }

    func testUnreadableFiles() {
        let missing = NSTemporaryDirectory() + "no-such-dir-\(UUID().uuidString)/herd.toml"
        XCTAssertThrowsError(try TOML.parse(contentsOfFile: missing)) { error in
            XCTAssertEqual(error as? TOMLError, TOMLError(file: missing, line: 0, column: 0, message: "no such file"))
            XCTAssertEqual("\(error)", "\(missing): no such file")
        }
        XCTAssertThrowsError(try TOML.parse(contentsOfFile: NSTemporaryDirectory())) { error in
            XCTAssertEqual(error as? TOMLError,
                           TOMLError(file: NSTemporaryDirectory(), line: 0, column: 0, message: "is a directory, not a TOML file"))
        }
    }
}
