import XCTest
@testable import TOML

/// Checks the parser against Python 3.11's `tomllib`: the same documents must be accepted or
/// rejected alike, and accepted ones must give equal values. One python3 process handles them all.
final class TOMLReferenceTests: XCTestCase {
    static let validDocuments: [String] = [
        // Strings and escapes
        #"a = "a\b\t\n\f\r\"\\z""#,
        #"a = "\u00E9\U0001F600\u0000 \u007F""#,
        "a = \"tab\there é 😀\"\nb = \"\"\nc = ''",
        #"a = 'C:\Users\nodejs\templates'"#,
        "a = \"\"\"\nRoses are red\r\nViolets are blue\"\"\"",
        "a = \"\"\"\nThe quick \\\n\n   brown \\   \n  fox.\\\n\"\"\"",
        #"a = """Two quotes: "". Three: ""\". End""""#,
        #"a = """"This," she said, "is just a pointless statement.""""#,
        "a = '''\nI [dw]on't need \\d{2} apples'''\nb = '''''quoted'''''",
        "a = \"\"\"\"\"\"\nb = ''''''\nc = \"\"\"\"\"\"\"",
        // Keys
        "bare_key-1 = 1\n1234 = 2\n\"quoted key\" = 3\n'literal \"key\"' = 4\n\"\" = 5",
        "a . b . \"c.d\" = 1\na.x = 2\n3.14 = 'pi'",
        "\"\\u00e9\" = 1\n'ü' = 2\n\"a\\\"b\" = 3",
        // Integers and floats
        "a = +99\nb = -17\nc = 0\nd = +0\ne = -0\nf = 1_000\ng = 5_349_221",
        "a = 0xDEADBEEF\nb = 0xdead_beef\nc = 0o755\nd = 0b1101_0110\ne = 0x00",
        "a = 9223372036854775807\nb = -9223372036854775808\nc = 0x7FFFFFFFFFFFFFFF",
        "a = +1.0\nb = 3.1415\nc = -0.01\nd = 5e+22\ne = 1e06\nf = -2E-2\ng = 6.626e-34",
        "a = 224_617.445_991_228\nb = 0e0\nc = 1e1_0\nd = -0.0\ne = +0.0\nf = 0.1\ng = 1e400\nh = 5e-324",
        "a = inf\nb = +inf\nc = -inf\nd = nan\ne = +nan\nf = -nan",
        "a = true\nb = false",
        // Dates and times
        "a = 1979-05-27T07:32:00Z\nb = 1979-05-27T00:32:00-07:00\nc = 1979-05-27T00:32:00.999999+05:30",
        "a = 1979-05-27 07:32:00z\nb = 1979-05-27t07:32:00\nc = 1979-05-27 00:32:00.5\nd = 1979-05-27T00:32:00.1234567899",
        "a = 1979-05-27\nb = 2000-02-29\nc = 2024-02-29\nd = 1979-05-27 # comment\ne = 1979-12-31",
        "a = 07:32:00\nb = 23:59:59.999999999\nc = 00:00:00.000\nd = 1979-05-27T07:32:00-00:00",
        // Arrays
        "a = []\nb = [ 1, 2, 3 ]\nc = [ \"red\", 'yellow', \"\"\"green\"\"\" ]\nd = [ [ 1, 2 ], [\"a\", 'b'] ]",
        "a = [1, \"two\", 3.0, true, {x = 1}, [], 1979-05-27, 07:00:00]",
        "a = [\n  1, # one\n  # nothing\n\n  2,\n]\nb = [\r\n 1,\r\n 2\r\n ]",
        "a = [{a = 1}, {a = 2, b = {c = [3]}}]\nb = [[[[]]]]",
        // Inline tables
        "name = { first = \"Tom\", last = \"Preston-Werner\" }\npoint = {x=1,y=2}\nempty = {}",
        "animal = { type.name = \"pug\", type . size = \"small\" }\nn = { a = { b = { c = [ 1,\n 2 ] } } }",
        // Tables
        "top = 0\n[table-1]\nkey1 = \"x\"\n[ dog . \"tater.man\" ]\ntype.name = \"pug\"",
        "[x.y.z.w]\n[x]\na = 1",
        "[a.b]\n[a]\nc = 1\n[a.d]",
        "[fruit]\napple.color = \"red\"\napple.taste.sweet = true\n[fruit.apple.texture]\nsmooth = true",
        "[a.b.c]\nz = 1\n[a]\nb.d = 2",
        "a.b = 1\n[a.c]\nd = 2",
        "[a]\nb.c = 1\n[a.b.d]\ne = 2",
        "# comment\n  [ a ] # header comment\n\tb = 1 # trailing\n\n#last",
        "a = 1\r\n[t]\r\nb = 'x' # c\r\n",
        // Arrays of tables
        "[[products]]\nname = \"Hammer\"\n[[products]]\n[[products]]\nname = \"Nail\"",
        "[[fruits]]\nname = \"apple\"\n[fruits.physical]\ncolor = \"red\"\n[[fruits.varieties]]\nname = \"rd\"\n[[fruits.varieties]]\nname = \"gs\"\n[[fruits]]\nname = \"banana\"\n[[fruits.varieties]]\nname = \"plantain\"",
        "[[a]]\n[a.b]\nx = 1\n[[a]]\n[a.b]\nx = 2",
        "[[a.b]]\n[a]\nc = 1",
        "[[a]]\nb.c = 1\n[[a]]\nb.c = 2",
        "[[a]]\nx = {y = 1}\n[[a]]\n[a.x]\ny = 2",
        "[[t]]\n[b]\na.c = 1",
    ]

    static let invalidDocuments: [String] = [
        "a = [1]\n[a.b]",
        "[a]\nb = 1\n[a.b.c]",
        "[[a]]\nx = 1\n[[a.x]]",
        "a = {}\na.b = 1",
        "a = {b = 1}\n[a.c]",
        "[a.b]\n[a.b]",
        "[[a]]\n[[a]]\n[a]",
        "a = 1\na = 1",
        "é = 1",
        "a = \"\"\"\"\"\"\"\"\"",
        "a = 1979-05-27T07:32:00+5:00",
        "a = 1979-05-27T07:32",
        "a = {\n}",
        "a = [1\n,,]",
        "a = \"\\e\"",
        "a = 0x",
        "a = 1e5e5",
        "[a.]",
        "[.a]",
        "a = 'x' 'y'",
        "\u{7} = 1",
    ]

    /// Tags values as toml-test does, except that tables and arrays are wrapped ({"table": ...},
    /// {"array": ...}) so that a table with keys "type" and "value" cannot be mistaken for a leaf.
    static let script = """
    import sys, json, datetime
    try:
        import tomllib
    except ImportError:
        print("NO_TOMLLIB")
        sys.exit(0)
    def tag(v):
        if isinstance(v, dict): return {"table": {k: tag(x) for k, x in v.items()}}
        if isinstance(v, list): return {"array": [tag(x) for x in v]}
        if isinstance(v, bool): return {"type": "bool", "value": "true" if v else "false"}
        if isinstance(v, int): return {"type": "integer", "value": str(v)}
        if isinstance(v, float): return {"type": "float", "value": repr(v)}
        if isinstance(v, str): return {"type": "string", "value": v}
        if isinstance(v, datetime.datetime):
            return {"type": "datetime" if v.tzinfo else "datetime-local", "value": v.isoformat()}
        if isinstance(v, datetime.date): return {"type": "date-local", "value": v.isoformat()}
        if isinstance(v, datetime.time): return {"type": "time-local", "value": v.isoformat()}
        raise TypeError(type(v))
    out = []
    for doc in json.load(sys.stdin):
        try:
            out.append(tag(tomllib.loads(doc)))
        except tomllib.TOMLDecodeError:
            out.append("error")
    print(json.dumps(out))
    """

    func testAgreesWithTomllib() throws {
        // Integers beyond 64 bits are valid for tomllib (Python ints are unbounded) but not for us.
        let errorDocuments = TOMLErrorTests.cases.filter { !$0.message.contains("out of range (64-bit") }.map(\.doc)
        let documents = Self.validDocuments + Self.invalidDocuments + errorDocuments
        XCTAssertGreaterThanOrEqual(documents.count, 60)
        let input = try JSONSerialization.data(withJSONObject: documents)
        guard let output = Self.python(["-c", Self.script], input: input) else {
            throw XCTSkip("python3 is not available")
        }
        if String(decoding: output, as: UTF8.self).hasPrefix("NO_TOMLLIB") {
            throw XCTSkip("python3 has no tomllib (needs Python 3.11 or later)")
        }
        let results = try XCTUnwrap(try JSONSerialization.jsonObject(with: output) as? [Any])
        XCTAssertEqual(results.count, documents.count)
        var accepted = 0
        for (doc, reference) in zip(documents, results) {
            let mine = Result { try TOML.parse(doc) }
            switch (mine, reference as? String == "error") {
            case (.success(let table), false):
                accepted += 1
                if let difference = Self.difference(.table(table), reference, path: "") {
                    XCTFail("\(doc.debugDescription): \(difference)")
                }
            case (.failure, true):
                break
            case (.success, true):
                XCTFail("\(doc.debugDescription): accepted, but tomllib rejects it")
            case (.failure(let error), false):
                XCTFail("\(doc.debugDescription): rejected (\(error)), but tomllib accepts it")
            }
        }
        XCTAssertEqual(accepted, Self.validDocuments.count)
    }

    /// Where `mine` differs from tomllib's tagged value, or nil.
    static func difference(_ mine: TOMLValue, _ reference: Any, path: String) -> String? {
        guard let tagged = reference as? [String: Any] else { return "\(path): unexpected reference \(reference)" }
        switch mine {
        case .table(let table):
            guard let other = tagged["table"] as? [String: Any] else { return "\(path): tomllib has \(tagged), not a table" }
            guard Set(table.keys) == Set(other.keys) else {
                return "\(path): keys \(table.keys.sorted()) but tomllib has \(other.keys.sorted())"
            }
            for key in table.keys {
                if let d = difference(table[key]!, other[key]!, path: path + "." + TOML.formatKey(key)) { return d }
            }
            return nil
        case .array(let elements):
            guard let other = tagged["array"] as? [Any], other.count == elements.count else {
                return "\(path): \(elements.count) elements but tomllib has \(tagged)"
            }
            for (k, (a, b)) in zip(elements, other).enumerated() {
                if let d = difference(a, b, path: "\(path)[\(k)]") { return d }
            }
            return nil
        default:
            let (type, value) = leaf(mine)
            let otherType = tagged["type"] as? String, otherValue = tagged["value"] as? String
            if type == "float", otherType == "float", let x = Double(value), let y = otherValue.flatMap(Double.init),
               (x.isNaN && y.isNaN) || x.bitPattern == y.bitPattern {
                return nil
            }
            return type == otherType && value == otherValue ? nil : "\(path): \(type) \(value.debugDescription) but tomllib has \(tagged)"
        }
    }

    private static func leaf(_ value: TOMLValue) -> (type: String, value: String) {
        switch value {
        case .string(let s): return ("string", s)
        case .integer(let n): return ("integer", String(n))
        case .float(let x): return ("float", "\(x)")
        case .bool(let b): return ("bool", b ? "true" : "false")
        case .dateTime(let d):
            let types: [TOMLDateTime.Kind: String] = [.offsetDateTime: "datetime", .localDateTime: "datetime-local",
                                                      .localDate: "date-local", .localTime: "time-local"]
            return (types[d.kind]!, isoformat(d))
        case .array, .table: fatalError("not a leaf")
        }
    }

    /// Our date-time text as Python's isoformat() writes it: microseconds (truncated, omitted when
    /// zero) and a numeric UTC offset.
    static func isoformat(_ d: TOMLDateTime) -> String {
        var text = d.text
        var offset = ""
        if d.kind == .offsetDateTime {
            if text.hasSuffix("Z") {
                text.removeLast()
                offset = "+00:00"
            } else {
                offset = String(text.suffix(6))
                text.removeLast(6)
                if offset == "-00:00" { offset = "+00:00" }
            }
        }
        if let dot = text.firstIndex(of: ".") {
            let micro = String((text[text.index(after: dot)...] + "000000").prefix(6))
            text = String(text[..<dot]) + (micro == "000000" ? "" : "." + micro)
        }
        return text + offset
    }

    /// Runs python3 from PATH with `input` on stdin; its standard output, or nil when it cannot run.
    static func python(_ arguments: [String], input: Data) -> Data? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3"] + arguments
        let stdin = Pipe(), stdout = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return nil }
        // Write from another thread so that a full stdout pipe cannot deadlock us.
        let writer = Thread {
            stdin.fileHandleForWriting.write(input)
            try? stdin.fileHandleForWriting.close()
        }
        writer.start()
        let data = stdout.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return process.terminationStatus == 0 ? data : nil
    }
}
