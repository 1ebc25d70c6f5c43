package dev.oranc.cli;

import dev.oranc.common.tag.TagCodec;
import dev.oranc.common.tag.TagEncoding;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Option;
import picocli.CommandLine.TypeConversionException;

/** {@code --tag-encoding} and {@code --fallback-encodings}, wherever a key becomes a tag. */
final class EncodingOptions {

  @Option(
      names = "--tag-encoding",
      paramLabel = "ENCODING",
      defaultValue = "custom",
      converter = EncodingConverter.class,
      completionCandidates = EncodingNames.class,
      description =
          "Encoding of cache keys as registry tags: ${COMPLETION-CANDIDATES}. Writes use it; reads"
              + " try it first. Default: ${DEFAULT-VALUE}.")
  TagEncoding tagEncoding = TagEncoding.CUSTOM;

  @Option(
      names = "--fallback-encodings",
      paramLabel = "ENCODING",
      split = ",",
      converter = EncodingConverter.class,
      completionCandidates = EncodingNames.class,
      description =
          "Encodings reads try after --tag-encoding, in order (repeatable; e.g. base32-dnssec for"
              + " caches pushed by old oranc versions). Default: none.")
  List<TagEncoding> fallbackEncodings = new ArrayList<>();

  TagCodec codec() {
    return new TagCodec(tagEncoding, fallbackEncodings);
  }

  static final class EncodingConverter implements ITypeConverter<TagEncoding> {
    @Override
    public TagEncoding convert(String value) {
      try {
        return TagEncoding.byName(value);
      } catch (IllegalArgumentException e) {
        throw new TypeConversionException(
            "'"
                + value
                + "' is not a tag encoding (expected one of: "
                + TagEncoding.acceptedNames()
                + ")");
      }
    }
  }

  static final class EncodingNames implements Iterable<String> {
    @Override
    public Iterator<String> iterator() {
      return Arrays.stream(TagEncoding.values()).map(TagEncoding::cliName).iterator();
    }
  }
}
