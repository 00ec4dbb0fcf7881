import Foundation
import Store

/// A small store to audit: three corpus subsets of 30 pairs, plus rows the audit never samples
/// (no response, exact duplicates, a seed pool).
enum AuditStore {
    static let subsets = ["alpaca", "generated_flan", "original_p3"]

    static func make(at path: String) throws -> Store {
        let store = try Store.create(at: path)
        let w = try SourceWriter(store: store, uri: "t", sha256: String(repeating: "a", count: 64), bytes: 0, format: "test")
        var line: Int64 = 0
        func add(_ subset: String, _ instruction: String, _ input: String, _ output: String?, duplicateOf: Int64? = nil) throws -> Int64 {
            line += 1
            return try w.add(NewInstruction(subset: subset, member: nil, line: line, record: line, byteOffset: 0, task: nil,
                                            instruction: instruction, input: input, output: output, meta: nil, normHash: line),
                             duplicateOf: duplicateOf)
        }
        for k in 0..<30 {
            for s in subsets {
                let id = try add(s, "\(s) instruction \(k), with \"quotes\"", k % 3 == 0 ? "input \(k)" : "", "\(s) answer \(k)\nsecond line")
                if k == 0 { _ = try add(s, "\(s) instruction 0 again", "", "dup", duplicateOf: id) }
            }
            if k < 5 { _ = try add("alpaca", "unanswered \(k)", "", nil) }
            _ = try add("self_instruct_seed", "seed \(k)", "", "seed answer")
        }
        _ = try w.commit(filtered: 0, format: "test")
        return store
    }
}
