//! The Danish text analysis shared by indexing and querying.
//!
//! Pipeline: split on anything that is not a letter or digit (Unicode) → drop tokens longer
//! than [`TOKEN_BYTES_MAX`] → lower-case → drop Danish stop words → Danish Snowball stemming →
//! fold to ASCII (æ → ae, ø → o, å → a) → lower-case again. Stemming comes before folding because the Danish
//! stemmer's rules are written for the letters æ, ø and å (they are vowels to it); folding
//! first would make it stem "sø" and "so" alike but "københavn" and "kobenhavn" differently
//! in other words. Folding last lets a query typed on a keyboard without æøå ("Kobenhavn",
//! "hjertesvaekkelse") find the Danish spelling.
//!
//! Invariant: the same function analyses documents and queries, so a query term matches
//! exactly the index terms of the words it stands for.

use tantivy::tokenizer::{
    AsciiFoldingFilter, Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer,
    StopWordFilter, TextAnalyzer, TokenStream,
};

/// The name the analyzer is registered under in the index.
pub const ANALYZER: &str = "dds_danish";

/// Longer tokens are dropped: no Danish word is this long, and long runs of letters and digits
/// (base64, hashes) would only bloat the term dictionary.
pub const TOKEN_BYTES_MAX: usize = 40;

/// The analyzer; see the module documentation.
pub fn danish() -> TextAnalyzer {
    let stop_words = StopWordFilter::new(Language::Danish)
        .unwrap_or_else(|| StopWordFilter::remove(Vec::<String>::new()));
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(TOKEN_BYTES_MAX))
        .filter(LowerCaser)
        .filter(stop_words)
        .filter(Stemmer::new(Language::Danish))
        .filter(AsciiFoldingFilter)
        // Folding can yield capitals (a few epigraphic and small-capital letters fold to
        // them); lower-case once more so every term is lower-case.
        .filter(LowerCaser)
        .build()
}

/// One analysed token and where its word is in the text (byte offsets).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Analysed {
    pub term: String,
    pub from: usize,
    pub to: usize,
}

/// The tokens of `text`, in order.
pub fn analyse(analyzer: &mut TextAnalyzer, text: &str) -> Vec<Analysed> {
    let mut stream = analyzer.token_stream(text);
    let mut out = Vec::new();
    while stream.advance() {
        let token = stream.token();
        out.push(Analysed {
            term: token.text.clone(),
            from: token.offset_from,
            to: token.offset_to,
        });
    }
    out
}

/// The distinct terms of `text`, in order of first occurrence.
pub fn terms(analyzer: &mut TextAnalyzer, text: &str) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    analyse(analyzer, text)
        .into_iter()
        .filter(|t| seen.insert(t.term.clone()))
        .map(|t| t.term)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn terms_of(text: &str) -> Vec<String> {
        terms(&mut danish(), text)
    }

    #[test]
    fn danish_words_meet_their_inflections_and_their_ascii_spellings() {
        // Inflections stem alike.
        assert_eq!(terms_of("hjertet"), terms_of("hjerte"));
        assert_eq!(terms_of("kardiologisk"), terms_of("kardiologiske"));
        assert_eq!(terms_of("undersøgelsen"), terms_of("undersøgelse"));
        // æøå typed without them.
        assert_eq!(terms_of("København"), terms_of("Kobenhavn"));
        assert_eq!(terms_of("Århus"), terms_of("arhus"));
        assert_eq!(terms_of("hjertesvækkelse"), terms_of("hjertesvaekkelse"));
        assert_eq!(terms_of("KØBENHAVN"), ["kobenhavn"]);
        // Stop words and punctuation give nothing.
        assert!(terms_of("og i på, med -- ?!").is_empty());
        // Distinct words stay distinct.
        assert_ne!(terms_of("lunge"), terms_of("hjerte"));
    }

    #[test]
    fn offsets_point_at_the_words_in_the_original_text() {
        let text = "Ekko af hjertet på Rigshospitalet";
        for token in analyse(&mut danish(), text) {
            let word = &text[token.from..token.to];
            assert_eq!(terms_of(word), std::slice::from_ref(&token.term), "{word}");
        }
    }

    proptest! {
        #[test]
        fn every_input_analyses_to_short_plain_terms(text in "\\PC{0,200}") {
            for token in analyse(&mut danish(), &text) {
                prop_assert!(!token.term.is_empty());
                prop_assert!(token.term.len() <= TOKEN_BYTES_MAX * 4);
                prop_assert_eq!(&token.term, &token.term.to_lowercase());
                prop_assert!(text.is_char_boundary(token.from) && text.is_char_boundary(token.to));
            }
        }

        #[test]
        fn danish_words_always_end_up_as_ascii_terms(word in "[a-zæøåÆØÅ]{1,20}") {
            for term in terms_of(&word) {
                prop_assert!(term.is_ascii(), "{term}");
            }
        }
    }
}
