/// Chat prompt formats.
public enum ChatTemplate {
    /// The system message SmolLM2's template inserts when the conversation has none.
    public static let defaultSystemMessage = "You are a helpful AI assistant named SmolLM, trained by Hugging Face"

    /// ChatML as SmolLM2's chat template renders one user turn with
    /// `add_generation_prompt`, ending with "<|im_start|>assistant\n".
    /// `system: nil` uses `defaultSystemMessage`; an empty string renders an empty system turn,
    /// as the template does for an empty system message.
    public static func chatML(system: String?, user: String) -> String {
        let systemText = system ?? defaultSystemMessage
        return "<|im_start|>system\n" + systemText + "<|im_end|>\n"
            + "<|im_start|>user\n" + user + "<|im_end|>\n"
            + "<|im_start|>assistant\n"
    }
}

extension ChatTemplate {
    /// The ChatML tokens of a conversation, ending with the assistant's turn: the markers as
    /// their control tokens, the texts tokenized as plain text (a message cannot smuggle in a
    /// marker). When the first turn is not a system message the default one goes first, as
    /// SmolLM2's template does. The same ids as tokenizing `chatML(...)` with special tokens.
    /// A final assistant turn is left open: the model continues it.
    public static func tokens(turns: [(role: String, content: String)], tokenizer: BPETokenizer) -> [Int32] {
        var turns = turns
        if turns.first?.role != "system" { turns.insert(("system", defaultSystemMessage), at: 0) }
        let start = tokenizer.id(of: "<|im_start|>")!, end = tokenizer.id(of: "<|im_end|>")!
        let newline = tokenizer.encode("\n")
        var out: [Int32] = []
        for (i, t) in turns.enumerated() {
            out.append(start)
            out += tokenizer.encode(t.role + "\n" + t.content)
            if i == turns.count - 1, t.role == "assistant" { return out }
            out.append(end)
            out += newline
        }
        out.append(start)
        out += tokenizer.encode("assistant\n")
        return out
    }
}
