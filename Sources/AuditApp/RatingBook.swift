import FastJSON
import Foundation
import Store

/// The rating app's view of the store: the sample and one reviewer's ratings, behind a lock
/// (requests arrive on concurrent tasks; one SQLite connection serves them in turn). Every
/// change is committed before its reply is sent.
final class RatingBook: @unchecked Sendable {
    private let lock = NSLock()
    private let store: Store
    let rater: String
    /// The sample, by position (fixed while the app runs).
    private let places: [(position: Int, instructionID: Int64, subset: String)]
    /// This reviewer's ratings by position.
    private var mine: [Int: (grade: String, note: String)] = [:]

    init(store: Store, rater: String) throws {
        self.store = store
        self.rater = rater
        places = try store.auditPlaces()
        guard !places.isEmpty else { throw AppError(status: 409, "the store has no audit sample; draw one with herd audit sample --per-subset N") }
        let positions = Dictionary(uniqueKeysWithValues: places.map { ($0.instructionID, $0.position) })
        for r in try store.ratings(kind: .human, rater: rater) {
            if let p = positions[r.rating.instructionID], let g = r.rating.grade { mine[p] = (g, r.rating.note) }
        }
    }

    private func locked<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }

    private func place(_ position: Int) throws -> (position: Int, instructionID: Int64, subset: String) {
        guard position >= 0, position < places.count, places[position].position == position else {
            throw AppError(status: 404, "no pair at position \(position); the sample has positions 0 to \(places.count - 1)")
        }
        return places[position]
    }

    /// Progress, and the first unrated pair after `after` (wrapping round), or null when all are rated.
    func state(after: Int? = nil) -> JSONValue {
        locked {
            var counts: [String: Int] = ["A": 0, "B": 0, "C": 0, "D": 0]
            for r in mine.values { counts[r.grade, default: 0] += 1 }
            let start = (after ?? -1) + 1
            let order = Array(start..<places.count) + Array(0..<min(start, places.count))
            let next = order.first { mine[$0] == nil }
            return .object([
                ("rater", .string(rater)), ("total", .number(String(places.count))), ("rated", .number(String(mine.count))),
                ("counts", .object(["A", "B", "C", "D"].map { ($0, .number(String(counts[$0] ?? 0))) })),
                ("next_unrated", next.map { .number(String($0)) } ?? .null),
            ])
        }
    }

    func pair(_ position: Int) throws -> JSONValue {
        try locked {
            let place = try place(position)
            guard let p = try store.auditPair(position: place.position) else {
                throw AppError(status: 404, "instruction \(place.instructionID) of position \(position) is no longer in the store")
            }
            return .object([
                ("position", .number(String(position))), ("total", .number(String(places.count))),
                ("instruction_id", .number(String(p.instructionID))), ("subset", .string(p.subset)),
                ("instruction", .string(p.instruction)), ("input", .string(p.input)), ("response", .string(p.response)),
                ("response_source", .string(p.responseSource)), ("rating", ratingJSON(position)),
            ])
        }
    }

    private func ratingJSON(_ position: Int) -> JSONValue {
        guard let r = mine[position] else { return .null }
        return .object([("grade", .string(r.grade)), ("note", .string(r.note))])
    }

    /// Records this reviewer's grade and note of the pair at `position`, replacing an earlier one.
    func rate(_ position: Int, grade: String, note: String) throws -> JSONValue {
        try locked {
            let place = try place(position)
            guard ["A", "B", "C", "D"].contains(grade) else { throw AppError(status: 400, "grade \"\(grade)\": expected A, B, C or D") }
            try store.setRating(Rating(instructionID: place.instructionID, kind: .human, rater: rater, grade: grade, note: note))
            mine[position] = (grade, note)
        }
        return .object([("rating", locked { ratingJSON(position) }), ("state", state(after: position))])
    }

    /// Removes this reviewer's rating of the pair at `position` (undoing a first rating).
    func unrate(_ position: Int) throws -> JSONValue {
        try locked {
            let place = try place(position)
            try store.deleteRating(instructionID: place.instructionID, kind: .human, rater: rater)
            mine[position] = nil
        }
        return .object([("rating", .null), ("state", state(after: position - 1))])
    }
}

/// A request the app refuses, with the HTTP status and the reason shown to the reviewer.
struct AppError: Error, CustomStringConvertible {
    var status: Int
    var description: String
    init(status: Int, _ description: String) { self.status = status; self.description = description }
}
