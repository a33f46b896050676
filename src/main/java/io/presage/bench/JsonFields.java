package io.presage.bench;

import java.io.IOException;
import java.util.OptionalLong;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;

/** Top-level fields of a JSON answer, read with the streaming parser (cheap enough for every request). */
final class JsonFields {
    static final JsonFactory JSON = new JsonFactory();

    private JsonFields() {
    }

    /** A top-level whole-number field of a JSON object, if there is one. */
    static OptionalLong topLevelLong(byte[] json, String name) {
        try (JsonParser p = JSON.createParser(json)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                return OptionalLong.empty();
            }
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String field = p.currentName();
                JsonToken t = p.nextToken();
                if (name.equals(field) && t == JsonToken.VALUE_NUMBER_INT) {
                    return OptionalLong.of(p.getLongValue());
                }
                p.skipChildren();
            }
        } catch (IOException e) {
            // not JSON
        }
        return OptionalLong.empty();
    }

    /** A top-level string field of a JSON object, or null. */
    static String topLevelString(String json, String field) {
        try (JsonParser p = JSON.createParser(json)) {
            return stringField(p, field);
        } catch (IOException e) {
            return null;
        }
    }

    /** The same, from the answer's bytes as they came (no text copy first). */
    static String topLevelString(byte[] json, String field) {
        try (JsonParser p = JSON.createParser(json)) {
            return stringField(p, field);
        } catch (IOException e) {
            return null;
        }
    }

    private static String stringField(JsonParser p, String field) throws IOException {
        if (p.nextToken() != JsonToken.START_OBJECT) {
            return null;
        }
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String f = p.currentName();
            JsonToken t = p.nextToken();
            if (field.equals(f) && t == JsonToken.VALUE_STRING) {
                return p.getText();
            }
            p.skipChildren();
        }
        return null;
    }
}
