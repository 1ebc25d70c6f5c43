package dev.oranc.cli;

import dev.oranc.common.tag.TagCodec;
import dev.oranc.common.tag.TagEncoding;
import java.io.PrintWriter;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(
    name = "tag",
    mixinStandardHelpOptions = true,
    versionProvider = Version.class,
    description = "Convert between cache keys and registry tags.",
    subcommands = {TagCommand.Encode.class, TagCommand.Decode.class})
final class TagCommand implements Runnable {

  @Spec CommandSpec spec;

  @Override
  public void run() {
    throw new picocli.CommandLine.ParameterException(
        spec.commandLine(), "a subcommand is required: encode or decode");
  }

  @Command(
      name = "encode",
      mixinStandardHelpOptions = true,
      versionProvider = Version.class,
      description = {
        "Print the tag a cache key is stored under.",
        "Example: oranc tag encode 'nar/0vz5....nar.zst' prints nar_L_0vz5....nar.zst",
      })
  static final class Encode implements Runnable {
    @Spec CommandSpec spec;

    @Parameters(paramLabel = "KEY", description = "The cache key, e.g. nix-cache-info or <hash>.narinfo.")
    String key;

    @Option(
        names = "--fallbacks",
        description = "Also print the tag in each --fallback-encodings encoding, one per line.")
    boolean fallbacks;

    @Mixin EncodingOptions encoding;

    @Override
    public void run() {
      TagCodec codec = encoding.codec();
      PrintWriter out = spec.commandLine().getOut();
      out.println(codec.writeTag(key).value());
      if (fallbacks) {
        for (TagEncoding fallback : encoding.fallbackEncodings) {
          out.println(new TagCodec(fallback, java.util.List.of()).writeTag(key).value());
        }
      }
      out.flush();
    }
  }

  @Command(
      name = "decode",
      mixinStandardHelpOptions = true,
      versionProvider = Version.class,
      description = {
        "Print the cache key a tag stands for, trying --tag-encoding, then each fallback.",
      })
  static final class Decode implements Runnable {
    @Spec CommandSpec spec;

    @Parameters(paramLabel = "TAG", description = "The registry tag.")
    String tag;

    @Mixin EncodingOptions encoding;

    @Override
    public void run() {
      PrintWriter out = spec.commandLine().getOut();
      out.println(encoding.codec().decode(tag));
      out.flush();
    }
  }
}
