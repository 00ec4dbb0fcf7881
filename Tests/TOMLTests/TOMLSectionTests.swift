import XCTest
@testable import TOML

final class TOMLSectionTests: XCTestCase {
    static let config = """
    version = 1
    [teacher]
    model = "gpt-4o"
    temperature = "hot"
    endpiont = "https://example.com"
    max_tokens = 100
    stop = ["a", 1]
    top_p = 1
    stream = true
    [prices]
    "gpt-3.5-turbo" = { input = 0.5 }
    gpt-4o = { input = "x" }
    [[models]]
    name = "a"
    [[models]]
    name = 3
    """

    private func root() throws -> TOMLSection {
        TOMLSection(try TOML.parse(Self.config, file: "herd.toml"), path: "", file: "herd.toml")
    }

    private func assertError(_ body: @autoclosure () throws -> Any?, _ line: Int, _ column: Int, _ message: String,
                             file: StaticString = #filePath, testLine: UInt = #line) {
        XCTAssertThrowsError(try body(), file: file, line: testLine) { error in
            XCTAssertEqual(error as? TOMLError, TOMLError(file: "herd.toml", line: line, column: column, message: message),
                           file: file, line: testLine)
        }
    }

    func testTypedValues() throws {
        let root = try root()
        XCTAssertEqual(root.keys, ["version", "teacher", "prices", "models"])
        XCTAssertEqual(try root.int("version"), 1)
        let teacher = try XCTUnwrap(try root.section("teacher"))
        XCTAssertEqual(teacher.path, "teacher")
        XCTAssertEqual(try teacher.string("model"), "gpt-4o")
        XCTAssertEqual(try teacher.int("max_tokens"), 100)
        XCTAssertEqual(try teacher.double("top_p"), 1.0)  // an integer is accepted as a float
        XCTAssertEqual(try teacher.bool("stream"), true)
        XCTAssertNil(try teacher.string("absent"))
        XCTAssertNil(try teacher.int("absent"))
        XCTAssertNil(try teacher.double("absent"))
        XCTAssertNil(try teacher.bool("absent"))
        XCTAssertNil(try teacher.stringArray("absent"))
        XCTAssertNil(try teacher.section("absent"))
        XCTAssertNil(try teacher.sectionArray("absent"))

        let prices = try XCTUnwrap(try root.section("prices"))
        let turbo = try XCTUnwrap(try prices.section("gpt-3.5-turbo"))
        XCTAssertEqual(turbo.path, #"prices."gpt-3.5-turbo""#)
        XCTAssertEqual(try turbo.double("input"), 0.5)
        XCTAssertEqual(try prices.section("gpt-4o")?.path, "prices.gpt-4o")

        let models = try XCTUnwrap(try root.sectionArray("models"))
        XCTAssertEqual(models.map(\.path), ["models[0]", "models[1]"])
        XCTAssertEqual(try models[0].string("name"), "a")

        let stops = TOMLSection(try TOML.parse("stop = ['a', \"b\"]\nnone = []"), path: "", file: "x")
        XCTAssertEqual(try stops.stringArray("stop"), ["a", "b"])
        XCTAssertEqual(try stops.stringArray("none"), [])
    }

    func testWrongTypes() throws {
        let root = try root()
        let teacher = try XCTUnwrap(try root.section("teacher"))
        assertError(try teacher.double("temperature"), 4, 1, "teacher.temperature: expected a float, found a string")
        assertError(try teacher.string("max_tokens"), 6, 1, "teacher.max_tokens: expected a string, found an integer")
        assertError(try teacher.int("model"), 3, 1, "teacher.model: expected an integer, found a string")
        assertError(try teacher.bool("model"), 3, 1, "teacher.model: expected a boolean, found a string")
        assertError(try teacher.stringArray("model"), 3, 1, "teacher.model: expected an array of strings, found a string")
        assertError(try teacher.stringArray("stop"), 7, 1, "teacher.stop[1]: expected a string, found an integer")
        assertError(try teacher.section("model"), 3, 1, "teacher.model: expected a table, found a string")
        assertError(try teacher.sectionArray("stop"), 7, 1, "teacher.stop[0]: expected a table, found a string")
        assertError(try root.sectionArray("teacher"), 2, 2, "teacher: expected an array of tables, found a table")
        assertError(try root.string("version"), 1, 1, "version: expected a string, found an integer")

        let prices = try XCTUnwrap(try root.section("prices"))
        assertError(try prices.section("gpt-4o")?.double("input"), 12, 12, "prices.gpt-4o.input: expected a float, found a string")
        let models = try XCTUnwrap(try root.sectionArray("models"))
        assertError(try models[1].string("name"), 16, 1, "models[1].name: expected a string, found an integer")
    }

    func testCustomErrors() throws {
        let teacher = try XCTUnwrap(try root().section("teacher"))
        XCTAssertEqual(teacher.error("max_tokens", "must be at most 64"),
                       TOMLError(file: "herd.toml", line: 6, column: 1, message: "teacher.max_tokens: must be at most 64"))
        // An absent key is reported at the section's header.
        XCTAssertEqual(teacher.error("model_name", "is required"),
                       TOMLError(file: "herd.toml", line: 2, column: 1, message: "teacher.model_name: is required"))
        let prices = try XCTUnwrap(try root().section("prices"))
        XCTAssertEqual(prices.error("gpt-3.5-turbo", "unknown model").message, #"prices."gpt-3.5-turbo": unknown model"#)
    }

    func testUnknownKeys() throws {
        let root = try root()
        let teacher = try XCTUnwrap(try root.section("teacher"))
        let known = ["model", "temperature", "endpoint", "max_tokens", "stop", "top_p", "stream"]
        assertError(try teacher.checkKnownKeys(known), 5, 1, "unknown key teacher.endpiont (did you mean endpoint?)")
        assertError(try root.checkKnownKeys(["version", "teacher", "prices"]), 13, 3,
                    "unknown key models (known keys: version, teacher, prices)")
        assertError(try root.checkKnownKeys(["version", "teacher", "prices", "model"]), 13, 3,
                    "unknown key models (did you mean model?)")
        let prices = try XCTUnwrap(try root.section("prices"))
        assertError(try prices.checkKnownKeys(["gpt-4o"]), 11, 1,
                    #"unknown key prices."gpt-3.5-turbo" (known keys: gpt-4o)"#)
        assertError(try prices.checkKnownKeys([]), 11, 1, #"unknown key prices."gpt-3.5-turbo" (no keys are allowed here)"#)
        XCTAssertNoThrow(try teacher.checkKnownKeys(known + ["endpiont"]))
        // The closest suggestion wins; ties go to the first known key.
        let s = TOMLSection(try TOML.parse("modle = 1"), path: "", file: "x")
        assertErrorMessage(try s.checkKnownKeys(["mode", "model", "modles"]), "unknown key modle (did you mean mode?)")
    }

    private func assertErrorMessage(_ body: @autoclosure () throws -> Any?, _ message: String, line: UInt = #line) {
        XCTAssertThrowsError(try body(), line: line) { XCTAssertEqual(($0 as? TOMLError)?.message, message, line: line) }
    }

    func testEditDistance() {
        XCTAssertEqual(editDistance("", ""), 0)
        XCTAssertEqual(editDistance("", "abc"), 3)
        XCTAssertEqual(editDistance("abc", ""), 3)
        XCTAssertEqual(editDistance("endpiont", "endpoint"), 2)
        XCTAssertEqual(editDistance("kitten", "sitting"), 3)
        XCTAssertEqual(editDistance("é", "e"), 1)
    }
}
