package dev.oranc.retention.pin;

import dev.oranc.common.error.RegistryException;
import dev.oranc.common.layout.StoredFile;
import dev.oranc.common.nix.store.StorePath;
import dev.oranc.common.oci.DigestedManifest;
import dev.oranc.common.tag.Tag;
import dev.oranc.retention.CacheTarget;
import dev.oranc.retention.RetentionException;
import dev.oranc.retention.scan.CacheScanner;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Pins: named lists of store paths whose closures {@code gc} keeps whatever their age.
 *
 * <p>A pin is a key of the cache, {@code pins/NAME}, a UTF-8 text file with one store path per
 * line. Being an ordinary key, it goes through the image layout (and the server): {@code curl
 * <cache>/pins/NAME} prints it and {@code nix-store -r $(curl …)} deploys it. Removing a pin
 * deletes its manifest.
 */
public final class Pins {

  private static final Logger log = LoggerFactory.getLogger(Pins.class);

  public static final String PREFIX = "pins/";
  public static final String CONTENT_TYPE = "text/plain; charset=utf-8";
  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,99}");

  /** A pin as {@code pin list} shows it. */
  public record Pin(String name, int paths) {}

  private final CacheTarget target;

  public Pins(CacheTarget target) {
    this.target = target;
  }

  /**
   * The key of pin {@code name}.
   *
   * @throws IllegalArgumentException when the name is not 1–100 of letters, digits, {@code .},
   *     {@code _} and {@code -}, starting with a letter or digit
   */
  public static String key(String name) {
    if (name == null || !NAME.matcher(name).matches()) {
      throw new IllegalArgumentException(
          "pin name '"
              + name
              + "': expected 1 to 100 letters, digits, '.', '_' or '-', starting"
              + " with a letter or digit");
    }
    return PREFIX + name;
  }

  /** The file a pin of {@code paths} is: one full store path per line. */
  public static byte[] body(List<StorePath> paths) {
    StringBuilder sb = new StringBuilder();
    for (StorePath p : paths) {
      sb.append(p).append('\n');
    }
    return sb.toString().getBytes(StandardCharsets.UTF_8);
  }

  /** Sets pin {@code name} to {@code paths}, replacing what it held. */
  public void set(String name, List<StorePath> paths) throws InterruptedException {
    String key = key(name);
    if (paths.isEmpty()) {
      throw new RetentionException(
          "pin " + name + ": no store paths given (on the command line or standard input)");
    }
    byte[] body = body(paths);
    CacheTarget.await(
        target
            .cache()
            .store(target.repository(), key, body, CONTENT_TYPE, null, target.credentials(), null));
    log.info(
        "pin {} set to {} path{} in {}",
        name,
        paths.size(),
        paths.size() == 1 ? "" : "s",
        target.repository());
  }

  /** Every pin, by name, with its number of paths. */
  public List<Pin> list() throws InterruptedException {
    List<Pin> pins = new ArrayList<>();
    for (String tag :
        CacheTarget.await(
                target
                    .client()
                    .listTags(
                        target.repository(), 1000, Integer.MAX_VALUE, target.credentials(), null))
            .tags()) {
      String key;
      try {
        key = target.codec().decode(tag);
      } catch (RuntimeException e) {
        continue;
      }
      if (!key.startsWith(PREFIX)) {
        continue;
      }
      Optional<StoredFile> file =
          CacheTarget.await(
              target.cache().find(target.repository(), key, target.credentials(), null));
      if (file.isEmpty()) {
        continue;
      }
      byte[] bytes =
          CacheTarget.await(
              target
                  .cache()
                  .read(
                      file.get(),
                      (int) Math.max(1, Math.min(file.get().size(), 1 << 20)),
                      target.credentials(),
                      null));
      pins.add(new Pin(key.substring(PREFIX.length()), CacheScanner.pinnedHashParts(bytes).size()));
    }
    pins.sort((a, b) -> a.name().compareTo(b.name()));
    return pins;
  }

  /**
   * Removes pin {@code name} by deleting its manifest (under every tag it may have).
   *
   * @throws RetentionException when there is no such pin
   */
  public void remove(String name) throws InterruptedException {
    String key = key(name);
    boolean removed = false;
    for (Tag tag : target.codec().readTags(key)) {
      Optional<DigestedManifest> m =
          CacheTarget.await(
              target
                  .client()
                  .getDigestedManifest(
                      target.repository(), tag.value(), target.credentials(), null));
      if (m.isPresent()) {
        try {
          removed |=
              CacheTarget.await(
                  target
                      .client()
                      .deleteManifest(
                          target.repository(), m.get().digest(), target.credentials(), null));
        } catch (RegistryException.Forbidden e) {
          throw new RetentionException("pin remove " + name + ": " + e.getMessage(), e);
        }
      }
    }
    if (!removed) {
      throw new RetentionException("there is no pin " + name + " in " + target.repository());
    }
    log.info("pin {} removed from {}", name, target.repository());
  }
}
