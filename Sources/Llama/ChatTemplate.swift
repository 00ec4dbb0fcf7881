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
