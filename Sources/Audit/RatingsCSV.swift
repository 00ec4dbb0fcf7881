import Foundation
import Store

public struct AuditError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// What importing a ratings file did.
public struct RatingsImportReport: Equatable, Sendable {
    public var rows = 0
    public var added = 0
    public var changed = 0
    public var unchanged = 0
    /// Bad rows skipped under `skipBad`, with the first few reasons.
    public var skipped = 0
    public var skipReasons: [String] = []
}

/// Ratings as CSV (RFC 4180: comma-separated, fields with commas, quotes or line breaks quoted,
/// quotes doubled, CRLF line ends), so reviewers can work in a spreadsheet and results travel
/// between stores. Columns: position, instruction_id, subset, kind, rater, grade, note, and with
/// the texts also instruction, input, response. Import reads instruction_id, kind, rater, grade
/// and note by header name and ignores the other columns.
public enum RatingsCSV {
    public static let columns = ["position", "instruction_id", "subset", "kind", "rater", "grade", "note"]
    public static let textColumns = ["instruction", "input", "response"]

    /// The store's ratings in position, kind and rater order.
    public static func export(store: Store, withTexts: Bool = false) throws -> String {
        let ratings = try store.ratings()
        var texts: [Int64: AuditPair] = [:]
        if withTexts { for p in try store.auditPairs() { texts[p.instructionID] = p } }
        var out = row(columns + (withTexts ? textColumns : []))
        for r in ratings {
            var fields = [String(r.position), String(r.rating.instructionID), r.subset, r.rating.kind.rawValue, r.rating.rater,
                          r.rating.grade ?? "", r.rating.note]
            if withTexts {
                let p = texts[r.rating.instructionID]
                fields += [p?.instruction ?? "", p?.input ?? "", p?.response ?? ""]
            }
            out += row(fields)
        }
        return out
    }

    static func row(_ fields: [String]) -> String {
        fields.map { f in
            f.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" })
                ? "\"" + f.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : f
        }.joined(separator: ",") + "\r\n"
    }

    /// Reads `path` and records its ratings in one transaction (a rating of the same pair, kind and
    /// rater is replaced). A bad row is an error naming the file and line, and nothing is
    /// recorded, unless `skipBad` skips and counts it.
    public static func importFile(_ path: String, store: Store, skipBad: Bool = false) throws -> RatingsImportReport {
        guard let data = FileManager.default.contents(atPath: path) else { throw AuditError("\(path): cannot read the file") }
        let bytes = Array(data)
        // The header first, so a file that is not ratings at all is named as such.
        if bytes.isEmpty { throw AuditError("\(path): empty file; expected a header line naming the columns") }
        let firstLine = Array(bytes.prefix { $0 != UInt8(ascii: "\n") })
        let headerFields = ((try? CSVReader.records(firstLine, name: path))?.first?.fields) ?? []
        var index: [String: Int] = [:]
        for (i, name) in headerFields.enumerated() where index[name] == nil { index[name] = i }
        for required in ["instruction_id", "kind", "rater", "grade"] where index[required] == nil {
            throw AuditError("\(path):1: no \(required) column; expected a header with instruction_id, kind, rater, grade and note")
        }
        let records = try CSVReader.records(bytes, name: path)
        let sampled = Set(try store.auditPlaces().map(\.instructionID))
        let existing = Dictionary(try store.ratings().map { (key($0.rating), $0.rating) }, uniquingKeysWith: { a, _ in a })
        var report = RatingsImportReport()
        var seen: [String: Int] = [:]
        var accepted: [Rating] = []
        for record in records.dropFirst() {
            if record.fields.count == 1, record.fields[0].isEmpty { continue } // a blank line
            report.rows += 1
            do {
                let r = try rating(record, index: index, sampled: sampled, path: path)
                if let first = seen[key(r)] {
                    throw AuditError("\(path):\(record.line): a second \(r.kind.rawValue) rating of instruction \(r.instructionID) by \(r.rater) (the first is on line \(first))")
                }
                seen[key(r)] = record.line
                accepted.append(r)
            } catch let error as AuditError where skipBad {
                report.skipped += 1
                if report.skipReasons.count < 10 { report.skipReasons.append(error.description) }
            }
        }
        try store.db.transaction {
            for r in accepted {
                var r = r
                if let old = existing[key(r)] {
                    r.requestID = old.requestID
                    if old == r { report.unchanged += 1; continue }
                    report.changed += 1
                } else {
                    report.added += 1
                }
                try store.setRating(r)
            }
        }
        return report
    }

    private static func key(_ r: Rating) -> String { "\(r.instructionID) \(r.kind.rawValue) \(r.rater)" }

    private static func rating(_ record: CSVReader.Record, index: [String: Int], sampled: Set<Int64>, path: String) throws -> Rating {
        func field(_ name: String) -> String? { index[name].flatMap { $0 < record.fields.count ? record.fields[$0] : nil } }
        let at = "\(path):\(record.line)"
        guard let idText = field("instruction_id"), let id = Int64(idText) else {
            throw AuditError("\(at): instruction_id \"\(field("instruction_id") ?? "")\" is not an integer")
        }
        guard sampled.contains(id) else { throw AuditError("\(at): instruction \(id) is not in the audit sample (herd audit sample)") }
        guard let kind = field("kind").flatMap(RatingKind.init(rawValue:)) else {
            throw AuditError("\(at): kind \"\(field("kind") ?? "")\": expected human or judge")
        }
        guard let rater = field("rater"), !rater.isEmpty else { throw AuditError("\(at): empty rater") }
        let gradeText = field("grade") ?? ""
        if gradeText.isEmpty, kind == .judge {
            return Rating(instructionID: id, kind: kind, rater: rater, grade: nil, note: field("note") ?? "")
        }
        guard let grade = Grade(rawValue: gradeText) else {
            throw AuditError("\(at): grade \"\(gradeText)\": expected A, B, C or D" + (kind == .judge ? " (or empty: no grade parsed)" : ""))
        }
        return Rating(instructionID: id, kind: kind, rater: rater, grade: grade.rawValue, note: field("note") ?? "")
    }
}

/// An RFC 4180 reader that remembers the line each record starts on.
enum CSVReader {
    struct Record { var line: Int; var fields: [String] }

    static func records(_ bytes: [UInt8], name: String) throws -> [Record] {
        let quote = UInt8(ascii: "\""), comma = UInt8(ascii: ","), cr = UInt8(ascii: "\r"), lf = UInt8(ascii: "\n")
        var i = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0 // a spreadsheet's byte order mark
        var line = 1
        var out: [Record] = []
        var fields: [String] = []
        var recordLine = 1
        while i < bytes.count {
            // One field, quoted or not.
            var field: [UInt8] = []
            if bytes[i] == quote {
                let openLine = line
                i += 1
                while true {
                    guard i < bytes.count else { throw AuditError("\(name):\(openLine): a quoted field is never closed") }
                    let b = bytes[i]
                    i += 1
                    if b == quote {
                        if i < bytes.count, bytes[i] == quote { field.append(quote); i += 1; continue }
                        break
                    }
                    if b == lf { line += 1 }
                    field.append(b)
                }
                if i < bytes.count, bytes[i] != comma, bytes[i] != cr, bytes[i] != lf {
                    throw AuditError("\(name):\(line): text after a quoted field's closing quote; expected a comma or a line end")
                }
            } else {
                while i < bytes.count, bytes[i] != comma, bytes[i] != cr, bytes[i] != lf {
                    if bytes[i] == quote {
                        throw AuditError("\(name):\(line): a quote inside an unquoted field; quote the whole field and double its quotes")
                    }
                    field.append(bytes[i])
                    i += 1
                }
            }
            guard let text = String(validating: field, as: UTF8.self) else { throw AuditError("\(name):\(line): invalid UTF-8") }
            fields.append(text)
            // What ends it: a comma (another field follows, empty at the end of the file), a line end, the end.
            if i < bytes.count, bytes[i] == comma {
                i += 1
                if i == bytes.count { fields.append("") }
                continue
            }
            if i < bytes.count {
                if bytes[i] == cr, i + 1 < bytes.count, bytes[i + 1] == lf { i += 1 }
                i += 1
            }
            out.append(Record(line: recordLine, fields: fields))
            fields = []
            line += 1
            recordLine = line
        }
        if !fields.isEmpty { out.append(Record(line: recordLine, fields: fields)) }
        return out
    }
}
