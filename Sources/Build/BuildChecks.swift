import Config
import Embed
import Fetch
import Foundation
import Generate
import Ingest
import Llama
import TOML

/// The checks made before any work starts; each error names the key and its line in herd.toml.
enum BuildChecks {
    static func validate(_ c: BuildConfig, teacher: TeacherSetup, forPlan: Bool, environment: [String: String]) throws {
        let fm = FileManager.default
        for (i, s) in c.sources.enumerated() {
            if Format(rawValue: s.format) == nil {
                throw c.error("ingest.sources[\(i)].format", "unknown format \"\(s.format)\" (expected one of "
                              + Format.allCases.map(\.rawValue).joined(separator: ", ") + ")")
            }
            if !s.isURL, !fm.fileExists(atPath: s.location), !forPlan {
                throw c.error(s.keyPath, "\(s.location): no such file or folder")
            }
        }
        if let t = c.topics, !forPlan {
            for (key, path) in [("topics.category_dump", t.categoryDump), ("topics.page_dump", t.pageDump ?? ""),
                                ("topics.page_props_dump", t.pagePropsDump ?? "")] where !path.isEmpty && !fm.fileExists(atPath: path) {
                throw c.error(key, "\(path): no such file")
            }
        }
        if c.subsets.isEmpty { throw c.error("subsets", "no [subsets.NAME] tables: the build has no targets") }
        for s in c.subsets where s.kind == .generated {
            if s.topics, c.topics == nil {
                throw c.error(s.keyPath + ".topics", "topic-guided prompts need a [topics] category_dump")
            }
        }
        if !forPlan { _ = try modelFolder(c) }
        if teacher.isLocal {
            if !forPlan, !fm.fileExists(atPath: BuiltInTeacher.path) {
                throw c.error("teacher.endpoint", "the built-in teacher's weights are not at \(BuiltInTeacher.path): run `make models`")
            }
        } else {
            let endpoint = teacher.settings().endpoint
            guard endpoint.hasPrefix("http://") || endpoint.hasPrefix("https://") else {
                throw c.error("teacher.endpoint", "expected \"local\" or an http(s) URL, found \"\(endpoint)\"")
            }
            if !forPlan {
                do {
                    _ = try teacher.apiKey(endpoint: endpoint, environment: environment)
                } catch {
                    throw c.error(c.herd.teacher.apiKeyEnv != nil ? "teacher.api_key_env" : "teacher.endpoint", "\(error)")
                }
            }
        }
    }

    /// A remote teacher must answer before the build starts (any HTTP status will do).
    static func probeTeacher(_ c: BuildConfig, teacher: TeacherSetup) throws {
        let endpoint = teacher.settings().endpoint
        do {
            try Downloader.probe(url: ChatRequest.url(endpoint: endpoint), timeoutSeconds: 15)
        } catch let e as FetchError {
            throw c.error("teacher.endpoint", "cannot reach the teacher: \(e.message)")
        }
    }

    /// The sentence encoder's folder: a name under $HERD_MODELS (all-MiniLM-L6-v2), a built-in
    /// short name (minilm, mpnet) or a path.
    static func modelFolder(_ c: BuildConfig) throws -> String {
        let name = c.diversity.model
        let candidates = [name, (ModelCache.directory as NSString).appendingPathComponent(name), c.resolve(name)]
        do {
            if let short = ModelCache.known.first(where: { $0.value.folder == name || $0.key == name })?.key {
                return try ModelCache.resolve(short)
            }
            for path in candidates where FileManager.default.fileExists(atPath: (path as NSString).appendingPathComponent("model.safetensors")) {
                return try ModelCache.resolve(path)
            }
            return try ModelCache.resolve(name)
        } catch {
            throw c.error("embed.model", "\(error)")
        }
    }

    /// Bytes of a file, or of every file under a folder (0 when missing).
    static func byteSize(_ path: String) -> Int64 {
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        guard fm.fileExists(atPath: path, isDirectory: &isDirectory) else { return 0 }
        if !isDirectory.boolValue { return (try? fm.attributesOfItem(atPath: path)[.size] as? Int64) ?? 0 }
        var total: Int64 = 0
        for case let name as String in fm.enumerator(atPath: path) ?? FileManager.DirectoryEnumerator() {
            guard let attributes = try? fm.attributesOfItem(atPath: (path as NSString).appendingPathComponent(name)),
                  attributes[.type] as? FileAttributeType == .typeRegular else { continue }
            total += attributes[.size] as? Int64 ?? 0
        }
        return total
    }
}
