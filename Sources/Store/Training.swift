import Foundation

/// One point of a training curve.
public struct TrainingPoint: Equatable, Sendable {
    public var step: Int
    /// "train" or "validation".
    public var split: String
    public var loss: Double
    public var rougeL: Double?

    public init(step: Int, split: String, loss: Double, rougeL: Double? = nil) {
        self.step = step; self.split = split; self.loss = loss; self.rougeL = rougeL
    }
}

extension Store {
    /// Records a run's curves, replacing what an earlier record of the same run held.
    public func replaceTrainingRun(name: String, directory: String, points: [TrainingPoint]) throws {
        try db.transaction {
            try db.prepare("DELETE FROM training_points WHERE run = ?").run([.text(name)])
            try db.prepare("INSERT OR REPLACE INTO training_runs (name, directory) VALUES (?, ?)").run([.text(name), .text(directory)])
            let add = try db.prepare("INSERT OR REPLACE INTO training_points (run, step, split, loss, rouge_l) VALUES (?, ?, ?, ?, ?)")
            for p in points {
                try add.run([.text(name), .int(Int64(p.step)), .text(p.split), .double(p.loss), p.rougeL.map { .double($0) } ?? .null])
            }
        }
    }

    /// Every run's points, runs by name, points by split then step.
    public func trainingRuns() throws -> [(name: String, points: [TrainingPoint])] {
        let s = try db.prepare("SELECT run, step, split, loss, rouge_l FROM training_points ORDER BY run, split, step")
        var runs: [(name: String, points: [TrainingPoint])] = []
        while try s.step() {
            let name = s.text(0) ?? ""
            let point = TrainingPoint(step: Int(s.int64(1)), split: s.text(2) ?? "", loss: s.double(3), rougeL: s.isNull(4) ? nil : s.double(4))
            if runs.last?.name == name { runs[runs.count - 1].points.append(point) } else { runs.append((name, [point])) }
        }
        return runs
    }
}
