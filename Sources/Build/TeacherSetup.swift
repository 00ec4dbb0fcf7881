import Config
import Foundation
import Generate
import Llama
import Store
import LocalTeacher
import Teacher

/// Teacher settings given on a command line; each overrides herd.toml's `[teacher]`.
public struct TeacherOverrides: Sendable {
    /// "local" (the built-in model) or a model name at the endpoint.
    public var teacher: String?
    public var endpoint: String?
    public var model: String?
    public var temperature: Double?
    public var topP: Double?
    public var maxTokens: Int?
    public var concurrency: Int?
    public var requestsPerMinute: Double?
    public var tokensPerMinute: Double?
    public var timeout: Double?
    public var maxAttempts: Int?
    public var retryBase: Double?
    /// Requests the built-in teacher generates together.
    public var batchSize: Int?
    public var budget: Double?
    public var retryFailed = false

    public init() {}
}

/// Flags over herd.toml over the built-in defaults: which teacher answers, with what settings,
/// limits, prices and key. `herd generate` and `herd build` both decide here.
public struct TeacherSetup: Sendable {
    public let config: HerdConfig
    public let overrides: TeacherOverrides

    public init(config: HerdConfig, overrides: TeacherOverrides = TeacherOverrides()) {
        self.config = config
        self.overrides = overrides
    }

    /// The built-in model answers when asked for (`--teacher local`, `endpoint = "local"`), or
    /// when nothing names an endpoint.
    public var isLocal: Bool {
        let o = overrides
        if o.teacher == TeacherSettings.localEndpoint { return true }
        if o.teacher != nil || o.endpoint != nil { return false }
        return config.teacher.endpoint == nil || config.teacher.endpoint == TeacherSettings.localEndpoint
    }

    /// The request settings; `maxTokens` (a stage's own limit) applies unless a flag sets one.
    public func settings(maxTokens stageMaxTokens: Int? = nil) -> TeacherSettings {
        let o = overrides, c = config.teacher
        var s = TeacherSettings()
        if isLocal {
            s.endpoint = TeacherSettings.localEndpoint
            s.model = BuiltInTeacher.name
            s.assistantPrefill = "<example>"
        } else {
            s.endpoint = o.endpoint ?? c.endpoint ?? s.endpoint
            s.model = o.teacher ?? o.model ?? c.model ?? s.model
        }
        s.temperature = o.temperature ?? c.temperature ?? s.temperature
        s.topP = o.topP ?? c.topP ?? s.topP
        s.maxTokens = o.maxTokens ?? stageMaxTokens ?? c.maxTokens ?? s.maxTokens
        return s
    }

    /// The environment variable holding the API key.
    public var apiKeyVariable: String { config.teacher.apiKeyEnv ?? "OPENAI_API_KEY" }

    /// The API key from the environment variable the config names; OpenAI's endpoint needs one.
    public func apiKey(endpoint: String, environment: [String: String]) throws -> String? {
        let key = environment[apiKeyVariable].flatMap { $0.isEmpty ? nil : $0 }
        if key == nil, endpoint.hasPrefix("https://api.openai.com") {
            throw GenerateError("\(endpoint) needs an API key: set $\(apiKeyVariable)"
                                + " (or name another variable with api_key_env in herd.toml's [teacher])")
        }
        return key
    }

    /// The prices requests are costed at: nothing for the built-in model.
    public func prices(model: String) -> PriceTable {
        if isLocal { return PriceTable([model: .init(promptPerMillion: 0, completionPerMillion: 0)]) }
        return Self.priceTable(config.prices)
    }

    /// herd.toml's `[prices]` as the table requests are costed with.
    public static func priceTable(_ prices: [String: ModelPrice]) -> PriceTable {
        PriceTable(prices.mapValues { PriceTable.Price(promptPerMillion: $0.promptPerMillion, completionPerMillion: $0.completionPerMillion) })
    }

    /// Client-side limits (nil: none).
    public var requestsPerMinute: Double? { isLocal ? nil : overrides.requestsPerMinute ?? config.teacher.requestsPerMinute }
    public var tokensPerMinute: Double? { isLocal ? nil : overrides.tokensPerMinute ?? config.teacher.tokensPerMinute }

    /// The run's options for one stage; the API key comes from the environment variable the config names.
    public func runOptions(settings: TeacherSettings, stage: String, subset: String?,
                           environment: [String: String] = ProcessInfo.processInfo.environment) throws -> TeacherRunOptions {
        let o = overrides, c = config.teacher
        let filter = TeacherQueueFilter(stage: stage, subset: subset, endpoint: settings.storedEndpoint, model: settings.model)
        var options: TeacherRunOptions
        if isLocal {
            options = TeacherRunOptions(filter: filter, teacher: HTTPTeacherOptions(url: settings.endpoint, apiKey: nil))
            var local = LocalTeacherOptions()
            local.batchSize = o.batchSize ?? local.batchSize
            options.makeTeacher = { [local] in try LocalTeacher(options: local) }
        } else {
            var teacher = HTTPTeacherOptions(url: ChatRequest.url(endpoint: settings.endpoint),
                                             apiKey: try apiKey(endpoint: settings.endpoint, environment: environment))
            teacher.concurrency = o.concurrency ?? c.concurrency ?? teacher.concurrency
            teacher.requestTimeout = o.timeout ?? c.timeoutSeconds ?? teacher.requestTimeout
            teacher.requestsPerMinute = requestsPerMinute
            teacher.tokensPerMinute = tokensPerMinute
            teacher.retry.maxAttempts = o.maxAttempts ?? c.maxAttempts ?? teacher.retry.maxAttempts
            teacher.retry.baseDelay = o.retryBase ?? c.retryBaseSeconds ?? teacher.retry.baseDelay
            options = TeacherRunOptions(filter: filter, teacher: teacher)
        }
        options.prices = prices(model: settings.model)
        options.budgetUSD = o.budget
        options.retryFailed = o.retryFailed
        options.showProgress = true
        return options
    }
}
