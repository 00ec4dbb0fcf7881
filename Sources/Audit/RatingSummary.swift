import FastJSON
import Store

/// Ratings per subset as the report shows them: every human grade and every judge grade
/// counted, and agreement over the pairs that have both: the share where the first human
/// rater's grade (by name) equals the first judge's.
public struct RatingSummary: Equatable, Sendable {
    public struct Subset: Equatable, Sendable {
        public var subset: String
        public var pairs: Int
        public var human: [String: Int]
        public var judge: [String: Int]
        /// Judge replies with no grade.
        public var judgeUnparsable: Int
        public var both: Int
        public var agreeing: Int
        public var agreement: Double? { both > 0 ? Double(agreeing) / Double(both) : nil }
    }

    public var subsets: [Subset]

    public static func compute(store: Store) throws -> RatingSummary {
        var bySubset: [String: Subset] = [:]
        for place in try store.auditPlaces() {
            bySubset[place.subset, default: Subset(subset: place.subset, pairs: 0, human: [:], judge: [:], judgeUnparsable: 0,
                                                   both: 0, agreeing: 0)].pairs += 1
        }
        // Ratings come in position, kind, rater order: the first of each kind per pair is the one compared.
        var firstHuman: [Int64: String] = [:], firstJudge: [Int64: String] = [:], subsetOf: [Int64: String] = [:]
        for r in try store.ratings() {
            subsetOf[r.rating.instructionID] = r.subset
            switch (r.rating.kind, r.rating.grade) {
            case let (.human, grade?):
                bySubset[r.subset]?.human[grade, default: 0] += 1
                if firstHuman[r.rating.instructionID] == nil { firstHuman[r.rating.instructionID] = grade }
            case let (.judge, grade?):
                bySubset[r.subset]?.judge[grade, default: 0] += 1
                if firstJudge[r.rating.instructionID] == nil { firstJudge[r.rating.instructionID] = grade }
            case (.judge, nil):
                bySubset[r.subset]?.judgeUnparsable += 1
            case (.human, nil):
                break
            }
        }
        for (id, human) in firstHuman {
            guard let judge = firstJudge[id], let subset = subsetOf[id] else { continue }
            bySubset[subset]?.both += 1
            if judge == human { bySubset[subset]?.agreeing += 1 }
        }
        return RatingSummary(subsets: bySubset.keys.sorted().compactMap { bySubset[$0] })
    }
}

extension RatingSummary {
    /// The report's `ratings` section: `{"subsets": [{subset, pairs, human{A..D}, judge{A..D},
    /// judge_unparsable, both, agreement}]}`, agreement null where no pair has both.
    public var jsonValue: JSONValue {
        func grades(_ g: [String: Int]) -> JSONValue { .object(Grade.allCases.map { ($0.rawValue, .number(String(g[$0.rawValue] ?? 0))) }) }
        return .object([("subsets", .array(subsets.map { s in
            .object([("subset", .string(s.subset)), ("pairs", .number(String(s.pairs))), ("human", grades(s.human)),
                     ("judge", grades(s.judge)), ("judge_unparsable", .number(String(s.judgeUnparsable))),
                     ("both", .number(String(s.both))),
                     ("agreement", s.agreement.map { .number(String(format: "%.4f", $0)) } ?? .null)])
        }))])
    }
}
