/*
 * Test-only Elasticsearch plugin for mlmon's secured local node (src/elastic/local-cluster.ts,
 * `security: true`). The integ-test distribution lacks the analysis-common module, and the
 * `.security` index (API keys, native users and roles) declares an `email` analyzer built from
 * three of its parts: the `uax_url_email` tokenizer and the `pattern_capture` and `unique` token
 * filters. This plugin supplies those three from Lucene's own classes (shipped in the
 * distribution's lib/), so that the node can create API keys. Compiled at the node's start with the
 * JDK's javac against the distribution's jars; never part of the mlmon package.
 */
package org.mlmon.testanalysis;

import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

import org.apache.lucene.analysis.CharArraySet;
import org.apache.lucene.analysis.TokenFilter;
import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.email.UAX29URLEmailTokenizer;
import org.apache.lucene.analysis.pattern.PatternCaptureGroupTokenFilter;
import org.apache.lucene.analysis.tokenattributes.CharTermAttribute;
import org.apache.lucene.analysis.tokenattributes.PositionIncrementAttribute;
import org.elasticsearch.index.analysis.TokenFilterFactory;
import org.elasticsearch.index.analysis.TokenizerFactory;
import org.elasticsearch.indices.analysis.AnalysisModule.AnalysisProvider;
import org.elasticsearch.plugins.AnalysisPlugin;
import org.elasticsearch.plugins.Plugin;

public class SecurityIndexAnalysisPlugin extends Plugin implements AnalysisPlugin {

    @Override
    public Map<String, AnalysisProvider<TokenFilterFactory>> getTokenFilters() {
        AnalysisProvider<TokenFilterFactory> patternCapture = (indexSettings, environment, name, settings) -> {
            List<String> sources = settings.getAsList("patterns");
            Pattern[] patterns = sources.stream().map(Pattern::compile).toArray(Pattern[]::new);
            boolean preserveOriginal = settings.getAsBoolean("preserve_original", true);
            return filter(name, in -> new PatternCaptureGroupTokenFilter(in, preserveOriginal, patterns));
        };
        AnalysisProvider<TokenFilterFactory> unique = (indexSettings, environment, name, settings) -> {
            boolean onlyOnSamePosition = settings.getAsBoolean("only_on_same_position", false);
            return filter(name, in -> new Unique(in, onlyOnSamePosition));
        };
        return Map.of("pattern_capture", patternCapture, "unique", unique);
    }

    @Override
    public Map<String, AnalysisProvider<TokenizerFactory>> getTokenizers() {
        AnalysisProvider<TokenizerFactory> uaxUrlEmail = (indexSettings, environment, name, settings) -> {
            int maxTokenLength = settings.getAsInt("max_token_length", 255);
            return TokenizerFactory.newFactory(name, () -> {
                UAX29URLEmailTokenizer tokenizer = new UAX29URLEmailTokenizer();
                tokenizer.setMaxTokenLength(maxTokenLength);
                return tokenizer;
            });
        };
        return Map.of("uax_url_email", uaxUrlEmail);
    }

    private interface Wrap {
        TokenStream apply(TokenStream in);
    }

    private static TokenFilterFactory filter(String name, Wrap wrap) {
        return new TokenFilterFactory() {
            @Override
            public String name() {
                return name;
            }

            @Override
            public TokenStream create(TokenStream tokenStream) {
                return wrap.apply(tokenStream);
            }
        };
    }

    /** Drops a token whose text was seen before (in the stream, or at the same position). */
    private static final class Unique extends TokenFilter {
        private final CharTermAttribute term = addAttribute(CharTermAttribute.class);
        private final PositionIncrementAttribute position = addAttribute(PositionIncrementAttribute.class);
        private final CharArraySet seen = new CharArraySet(8, false);
        private final boolean onlyOnSamePosition;

        Unique(TokenStream in, boolean onlyOnSamePosition) {
            super(in);
            this.onlyOnSamePosition = onlyOnSamePosition;
        }

        @Override
        public boolean incrementToken() throws IOException {
            while (input.incrementToken()) {
                if (onlyOnSamePosition && position.getPositionIncrement() > 0) seen.clear();
                char[] text = new char[term.length()];
                System.arraycopy(term.buffer(), 0, text, 0, term.length());
                if (seen.add(text)) return true;
            }
            return false;
        }

        @Override
        public void reset() throws IOException {
            super.reset();
            seen.clear();
        }
    }
}
