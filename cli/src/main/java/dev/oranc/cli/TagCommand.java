package dev.oranc.cli;

import dev.oranc.common.tag.Tag;
import dev.oranc.common.tag.TagCodec;
import dev.oranc.common.tag.TagEncoding;
import java.io.PrintWriter;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
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
    description = {
      "Convert between cache keys and registry tags.",
      "A key whose tag would be longer than 128 characters (OCI's limit) is stored under a hashed"
          + " tag, _0sha256-<SHA-256 of the key in hex>; the key itself is in the manifest's"
          + " com.linyinfeng.oranc.key annotation. The Rust oranc cannot read such keys.",
    },
    subcommands = {TagCommand.Encode.class, TagCommand.Decode.class})
final class TagCommand implements Runnable {

  @Spec CommandSpec spec;

  @Override
  public void run() {
    throw new CommandLine.ParameterException(
        spec.commandLine(), "a subcommand is required: encode or decode");
  }

  @Command(
      name = "encode",
      mixinStandardHelpOptions = true,
      versionProvider = Version.class,
      description = {
        "Print the tag a cache key is stored under.",
        "Example: oranc tag encode 'nar/0vz5....nar.zst' prints nar_L_0vz5....nar.zst",
        "A key too long for a tag prints its hashed tag (_0sha256-...), and says so on stderr.",
      })
  static final class Encode implements Runnable {
    @Spec CommandSpec spec;

    @Parameters(
        paramLabel = "KEY",
        description = "The cache key, e.g. nix-cache-info or <hash>.narinfo.")
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
      boolean hashed = print(out, codec.writeTag(key));
      if (fallbacks) {
        for (TagEncoding fallback : encoding.fallbackEncodings) {
          hashed |= print(out, new TagCodec(fallback, List.of()).writeTag(key));
        }
      }
      out.flush();
      if (hashed) {
        PrintWriter err = spec.commandLine().getErr();
        err.println(
            spec.qualifiedName()
                + ": the key is too long for a tag in "
                + (fallbacks ? "some" : "this")
                + " encoding, so it is stored under its hashed tag (_0sha256-...; the Rust oranc"
                + " cannot read it)");
        err.flush();
      }
    }

    private static boolean print(PrintWriter out, Tag tag) {
      out.println(tag.value());
      return TagCodec.isHashed(tag);
    }
  }

  @Command(
      name = "decode",
      mixinStandardHelpOptions = true,
      versionProvider = Version.class,
      description = {
        "Print the cache key a tag stands for, trying --tag-encoding, then each fallback.",
        "A hashed tag (_0sha256-..., a key too long for a tag) cannot be decoded: the key is only"
            + " in the manifest's com.linyinfeng.oranc.key annotation (skopeo inspect --raw"
            + " docker://REGISTRY/REPOSITORY:TAG shows it). Then nothing is printed on stdout,"
            + " stderr says so, and the exit status is "
            + Decode.EXIT_HASHED
            + ".",
      },
      exitCodeListHeading = "%nExit status:%n",
      exitCodeList = {
        "0:the key is printed",
        "1:the tag is no encoding's tag",
        "2:usage error",
        Decode.EXIT_HASHED + ":a hashed tag: its key is in the manifest",
      })
  static final class Decode implements Callable<Integer> {
    /**
     * A hashed tag: well-formed, but its key is not in it. Not 1, so scripts can tell the two
     * apart.
     */
    static final int EXIT_HASHED = 3;

    @Spec CommandSpec spec;

    @Parameters(paramLabel = "TAG", description = "The registry tag.")
    String tag;

    @Mixin EncodingOptions encoding;

    @Override
    public Integer call() {
      if (TagCodec.isHashed(tag)) {
        PrintWriter err = spec.commandLine().getErr();
        err.println(
            spec.qualifiedName()
                + ": '"
                + tag
                + "' is a hashed tag (the SHA-256 of a key too long for a tag): the key is not in"
                + " the tag but in the manifest's com.linyinfeng.oranc.key annotation, e.g. skopeo"
                + " inspect --raw docker://REGISTRY/REPOSITORY:"
                + tag);
        err.flush();
        return EXIT_HASHED;
      }
      PrintWriter out = spec.commandLine().getOut();
      out.println(encoding.codec().decode(tag));
      out.flush();
      return 0;
    }
  }
}
