package dev.oranc.cli;

import dev.oranc.proxy.ServerConfig;
import dev.oranc.proxy.s3.MultipartUploads;
import java.nio.file.Path;
import java.time.Duration;
import picocli.CommandLine.Option;

/**
 * {@code oranc server}'s uploads on their way to the registry: S3 multipart uploads (the spool of
 * early parts, expiry, per-client allowance), publishing after the answer, and upload sessions
 * opened ahead.
 */
final class PublishOptions {

  @Option(
      names = "--multipart-spool-dir",
      paramLabel = "DIR",
      defaultValue = "${sys:java.io.tmpdir}/oranc-multipart",
      description =
          "Where parts of S3 multipart uploads that arrive before their turn wait (the server makes"
              + " a directory of its own inside, removed at exit). Put it on a disk, not a tmpfs."
              + " Default: ${DEFAULT-VALUE}.")
  Path multipartSpoolDir;

  @Option(
      names = "--multipart-spool-size",
      paramLabel = "SIZE",
      defaultValue = "1GiB",
      converter = Converters.Size.class,
      description =
          "Disk space for those parts in all; a part over it is answered 503 SlowDown (clients"
              + " send it again later). Default: ${DEFAULT-VALUE}.")
  long multipartSpoolSize;

  @Option(
      names = "--multipart-expiry",
      paramLabel = "DURATION",
      defaultValue = "1h",
      converter = Converters.ServerDuration.class,
      description =
          "An S3 multipart upload untouched this long is aborted: its registry session is"
              + " cancelled and its spooled parts deleted. Default: ${DEFAULT-VALUE}.")
  Duration multipartExpiry;

  @Option(
      names = "--max-multipart-uploads-per-client",
      paramLabel = "NUM",
      defaultValue = "100",
      converter = UploadsPerClient.class,
      description =
          "S3 multipart uploads in progress at once per client, counted both by credentials and"
              + " by IP address (an IPv6 one by its /64; anonymous clients share one allowance);"
              + " one more is answered 503 SlowDown until one completes, is aborted or expires. The"
              + " server holds at most 10000 in all. Behind a reverse proxy every client has the"
              + " proxy's address: raise it. Default: ${DEFAULT-VALUE}.")
  int maxMultipartUploadsPerClient;

  @Option(
      names = "--max-pending-publishes",
      paramLabel = "NUM",
      defaultValue = "1024",
      converter = PendingPublishesBound.class,
      description =
          "A PUT of a NAR (nar/...) is answered as soon as its blob is in the registry, and its"
              + " image is published after the answer; a narinfo PUT naming it waits for that"
              + " publish (and is refused if it failed). At most NUM such publishes run at once;"
              + " beyond that a PUT is answered after its publish. 0 answers every PUT after its"
              + " publish. Default: ${DEFAULT-VALUE}.")
  int maxPendingPublishes;

  @Option(
      names = "--upload-sessions-ahead",
      paramLabel = "NUM",
      defaultValue = "4",
      converter = SessionsAheadBound.class,
      description =
          "Registry upload sessions kept open ahead per repository and credentials (after an upload"
              + " with them succeeded; each kept at most 60 s), so that a small PUT's blob waits on"
              + " one registry round trip instead of two (nix copy uses 4 per path: its NAR,"
              + " narinfo and their configs). 0 opens each when needed. Default: ${DEFAULT-VALUE}.")
  int uploadSessionsAhead;

  /** From 0 (off) to 8. */
  static final class SessionsAheadBound extends Bounded {
    SessionsAheadBound() {
      super(0, 8);
    }
  }

  /** From 0 (answer after publishing) to 65536. */
  static final class PendingPublishesBound extends Bounded {
    PendingPublishesBound() {
      super(0, 65_536);
    }
  }

  /** From 1 to the server's bound on uploads in progress. */
  static final class UploadsPerClient extends Bounded {
    UploadsPerClient() {
      super(1, MultipartUploads.MAX_UPLOADS);
    }
  }

  void applyTo(ServerConfig.Builder b) {
    b.multipartSpoolDir(multipartSpoolDir)
        .multipartSpoolBytes(multipartSpoolSize)
        .multipartExpiry(multipartExpiry)
        .maxMultipartUploadsPerClient(maxMultipartUploadsPerClient)
        .maxPendingPublishes(maxPendingPublishes)
        .uploadSessionsAhead(uploadSessionsAhead);
  }
}
