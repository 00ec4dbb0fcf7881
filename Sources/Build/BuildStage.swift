import Checksums
import Config
import Foundation
import Generate
import Sampling
import Store

/// The stages of `herd build`, in order.
public enum BuildStage: String, CaseIterable, Sendable {
    case ingest, topics, instructions, dedup, responses, embed, project, audit, stats, report, export

    public var number: Int { Self.allCases.firstIndex(of: self)! + 1 }

    /// What the stage does, for help texts and the plan.
    public var summary: String {
        switch self {
        case .ingest: return "read the seed sources; sample each original subset down to its target"
        case .topics: return "mine topics from the Wikipedia category dump"
        case .instructions: return "prompt the teacher until each generated subset's target survives the novelty filter"
        case .dedup: return "the ROUGE-L novelty filter over the whole store"
        case .responses: return "the teacher answers every kept instruction"
        case .embed: return "sentence embeddings of a sample per subset"
        case .project: return "t-SNE of the embedded sample"
        case .audit: return "draw the pairs for human rating"
        case .stats: return "LaMini's Table 1 → stats.json"
        case .report: return "the HTML report"
        case .export: return "sharded dataset, manifest and card"
        }
    }
}

/// The names of everything a stage's fingerprint is made of.
enum StageFingerprint {
    /// The store counts each stage leaves behind and no later stage changes.
    static func counts(_ stage: BuildStage) -> [String] {
        switch stage {
        case .ingest: return ["sources", "ingested_instructions", "ingested_max_id"]
        case .topics: return ["topic_minings"]
        case .instructions: return ["instruction_requests", "instructions", "max_instruction_id"]
        case .dedup: return ["novelty", "novelty_kept"]
        case .responses: return ["response_requests", "responses"]
        case .embed: return ["embeddings"]
        case .project: return ["projections"]
        case .audit: return ["audit_pairs"]
        case .stats, .export: return []
        // People rate pairs and train students between builds: the report shows both.
        case .report: return ["ratings", "training_points"]
        }
    }

    /// sha256 of the previous stage's fingerprint, this stage's settings and its counts.
    static func make(_ stage: BuildStage, previous: String, settings: String, counts: [String: Int64]) -> String {
        var text = "\(previous)\n\(stage.rawValue)\n\(settings)\n"
        for name in Self.counts(stage) { text += "\(name)=\(counts[name] ?? 0)\n" }
        return SHA256.hex(text)
    }
}

/// A generated subset's prompts draw from their own stream: the build's seed mixed with the name.
func subsetSeed(_ seed: UInt64, _ name: String) -> UInt64 {
    var h: UInt64 = 0xCBF2_9CE4_8422_2325 // FNV-1a
    for b in name.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01B3 }
    return KeyedSample.key(id: Int64(bitPattern: h), seed: seed)
}

public struct BuildError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
