package dev.oranc.push;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.jr.ob.JSON;
import dev.oranc.common.nix.signature.SecretKey;
import dev.oranc.common.nix.store.StorePath;
import dev.oranc.common.tag.TagCodec;
import dev.oranc.push.db.NixDatabase;
import dev.oranc.push.realisation.Realisation;
import dev.oranc.testkit.FaultInjector;
import dev.oranc.testkit.Nix;
import dev.oranc.testkit.ProxiedRequest;
import dev.oranc.testkit.Registry;
import dev.oranc.testkit.RegistryExtension;
import dev.oranc.testkit.RegistryFlavour;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.UUID;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Realisations (issue 15, point 4) with real Nix 2.8 and the real registry: the Nix database's
 * {@code Realisations} table read back as Nix prints it, our signature equal to the one Nix made
 * with the same key, and {@code oranc push} uploading the realisation after the narinfo of the path
 * it names (or not, with {@code --no-realisations}).
 */
class RealisationPushTest {

  @RegisterExtension
  static final RegistryExtension registries = RegistryExtension.of(RegistryFlavour.BASIC);

  /** Nix's own view: {@code nix realisation info --json DRV}, the first entry. */
  @SuppressWarnings("unchecked")
  private static Map<String, Object> nixRealisation(String drv) throws Exception {
    List<String> argv = new ArrayList<>(List.of("nix", "realisation", "info", "--json", drv));
    argv.addAll(Nix.CA_DERIVATIONS);
    String json = Nix.exec(null, Duration.ofMinutes(1), argv).requireSuccess();
    List<Object> list = JSON.std.listFrom(json);
    assertEquals(1, list.size(), json);
    return (Map<String, Object>) list.get(0);
  }

  @Test
  void theDatabaseRealisationIsNixsAndOurSignatureIsTheOneNixMakes(@TempDir Path tmp)
      throws Exception {
    Nix.KeyPair key =
        Nix.generateKey("oranc-realisation-" + UUID.randomUUID().toString().substring(0, 6));
    Path keyFile = Files.writeString(tmp.resolve("key.sec"), key.secret());
    try (Nix nix = new Nix()) {
      Nix.ContentAddressed ca =
          nix.buildContentAddressed("oranc-real-sig", "signed by Nix", List.of(keyFile));
      Map<String, Object> expected = nixRealisation(ca.drv());
      StorePath out = StorePath.parse(ca.output().path());
      List<Realisation> found;
      try (NixDatabase db = NixDatabase.open(NixDatabase.DEFAULT_FILE, "/nix/store", false)) {
        found = db.realisations(out);
      }
      assertEquals(1, found.size(), found.toString());
      Realisation r = found.get(0);
      assertEquals(expected.get("id"), r.id());
      assertEquals(expected.get("outPath"), out.baseName());
      assertEquals("realisations/" + expected.get("id") + ".doi", r.key());
      assertEquals(new TreeSet<>((List<?>) expected.get("signatures")), r.signatures());
      // The file is byte for byte what Nix prints (Nix's toJSON().dump()).
      String nixJson = JSON.std.asString(expected);
      assertEquals(JSON.std.mapFrom(nixJson), JSON.std.mapFrom(r.json()));
      assertEquals(
          "{\"dependentRealisations\":{},\"id\":\""
              + r.id()
              + "\",\"outPath\":\""
              + out.baseName()
              + "\",\"signatures\":[\""
              + r.signatures().first()
              + "\"]}",
          new String(r.json(), StandardCharsets.UTF_8));
      // Ed25519 is deterministic: signing the unsigned realisation with the same key gives Nix's
      // signature, so our fingerprint is Nix's.
      Realisation unsigned = new Realisation(r.id(), out, new TreeSet<>(), new TreeMap<>());
      assertEquals(r.signatures(), unsigned.signedWith(SecretKey.parse(key.secret())).signatures());
    }
  }

  @Test
  void pushUploadsTheRealisationAfterItsNarinfoSignedByUs() throws Exception {
    Registry registry = registries.get();
    Nix.KeyPair key = Nix.generateKey("oranc-realisation-push");
    String repo = "test/real" + UUID.randomUUID().toString().substring(0, 8);
    try (Nix nix = new Nix()) {
      Nix.ContentAddressed ca = nix.buildContentAddressed("oranc-real-push", "pushed", List.of());
      StorePath out = StorePath.parse(ca.output().path());
      String id = (String) nixRealisation(ca.drv()).get("id");
      Realisation expected =
          new Realisation(id, out, new TreeSet<>(), new TreeMap<>())
              .signedWith(SecretKey.parse(key.secret()));

      registry.resetCounters();
      PushReport report = new PushRunner(registry, key).push(repo, List.of(out.toString()));
      assertTrue(report.succeeded(), report.summary().toString());
      assertEquals(1, report.realisations());
      assertTrue(
          report.summary().get(0).contains("0 failed, 1 realisation; NAR"),
          report.summary().get(0));

      CacheReader cache = new CacheReader(registry, repo);
      CacheReader.StoredFile file = cache.file(expected.key()).orElseThrow();
      assertEquals("application/json", file.contentType());
      assertEquals(
          new String(expected.json(), StandardCharsets.UTF_8),
          new String(file.bytes(), StandardCharsets.UTF_8));

      // The narinfo's manifest went up before the realisation's.
      List<ProxiedRequest> manifests =
          registry.proxiedRequests("PUT", "/v2/" + repo + "/manifests/.*");
      List<String> tags =
          manifests.stream().map(p -> p.path().substring(p.path().lastIndexOf('/') + 1)).toList();
      int narInfo = tags.indexOf(out.hashPart() + ".narinfo");
      int realisation = tags.indexOf(TagCodec.DEFAULT.writeTag(expected.key()).value());
      assertTrue(narInfo >= 0 && realisation > narInfo, tags.toString());
      assertEquals(realisation, tags.size() - 1, tags.toString());

      // --no-realisations: the paths, no realisation.
      String other = "test/noreal" + UUID.randomUUID().toString().substring(0, 8);
      PushReport none =
          new PushRunner(registry, key)
              .push(other, List.of(out.toString()), o -> o.noRealisations(true));
      assertTrue(none.succeeded());
      assertEquals(0, none.realisations());
      CacheReader otherCache = new CacheReader(registry, other);
      assertTrue(otherCache.narInfo(out).isPresent());
      assertTrue(otherCache.file(expected.key()).isEmpty());
    }
  }

  @Test
  void aPathWithoutRealisationsHasNone() throws Exception {
    try (Nix nix = new Nix();
        NixDatabase db = NixDatabase.open(NixDatabase.DEFAULT_FILE, "/nix/store", false)) {
      Nix.StorePathInfo p = nix.build("oranc-real-none", "input-addressed");
      assertEquals(List.of(), db.realisations(StorePath.parse(p.path())));
    }
  }

  /**
   * A dry run counts the realisation and uploads nothing; a path skipped because our key signed it
   * already (it is in some cache of ours, maybe not this one) gets no realisation here.
   */
  @Test
  void aDryRunUploadsNoRealisationAndASkippedPathGetsNone(@TempDir Path tmp) throws Exception {
    Registry registry = registries.get();
    Nix.KeyPair key = Nix.generateKey("oranc-realisation-skip");
    Path keyFile = Files.writeString(tmp.resolve("key.sec"), key.secret());
    try (Nix nix = new Nix()) {
      Nix.ContentAddressed unsigned = nix.buildContentAddressed("oranc-real-dry", "dry", List.of());
      String repo = "test/realdry" + UUID.randomUUID().toString().substring(0, 8);
      PushReport dry =
          new PushRunner(registry, key)
              .push(repo, List.of(unsigned.output().path()), o -> o.dryRun(true));
      assertTrue(dry.succeeded());
      assertEquals(1, dry.realisations());
      assertTrue(dry.summary().get(0).startsWith("would push 1 path,"), dry.summary().get(0));
      assertEquals(List.of(), registry.tags(repo));

      // Nix signs what it builds with secret-key-files: the output carries our signature.
      Nix.ContentAddressed signed =
          nix.buildContentAddressed("oranc-real-skip", "skip", List.of(keyFile));
      String skipRepo = "test/realskip" + UUID.randomUUID().toString().substring(0, 8);
      PushReport skipped =
          new PushRunner(registry, key).push(skipRepo, List.of(signed.output().path()));
      assertEquals(1, skipped.count(PathOutcome.Status.SKIPPED), skipped.summary().toString());
      assertEquals(0, skipped.realisations());
      // Only the cache's nix-cache-info, which a push writes into an empty cache.
      assertEquals(List.of("nix-cache-info"), registry.tags(skipRepo));
    }
  }

  /**
   * A realisation whose upload fails fails the push (its path is up, the realisation is listed); a
   * path whose narinfo fails gets no realisation at all, so none names a missing path.
   */
  @Test
  void aFailedRealisationFailsThePushAndAFailedPathGetsNoRealisation() throws Exception {
    Registry registry = registries.get();
    Nix.KeyPair key = Nix.generateKey("oranc-realisation-fault");
    try (Nix nix = new Nix();
        FaultInjector faults = new FaultInjector(registry.address(), null)) {
      Nix.ContentAddressed a = nix.buildContentAddressed("oranc-real-fa", "a", List.of());
      Nix.ContentAddressed b = nix.buildContentAddressed("oranc-real-fb", "b", List.of());
      StorePath outA = StorePath.parse(a.output().path());
      StorePath outB = StorePath.parse(b.output().path());
      String keyA =
          new Realisation(
                  (String) nixRealisation(a.drv()).get("id"),
                  outA,
                  new TreeSet<>(),
                  new TreeMap<>())
              .key();
      String keyB =
          new Realisation(
                  (String) nixRealisation(b.drv()).get("id"),
                  outB,
                  new TreeSet<>(),
                  new TreeMap<>())
              .key();
      String tagA = Pattern.quote(TagCodec.DEFAULT.writeTag(keyA).value());
      String tagB = Pattern.quote(TagCodec.DEFAULT.writeTag(keyB).value());
      faults.add(
          FaultInjector.Rule.of(
              "PUT", "/manifests/" + tagA + "$", FaultInjector.Fault.status(500), -1));
      faults.add(
          FaultInjector.Rule.of(
              "PUT",
              "/manifests/" + outB.hashPart() + "\\.narinfo$",
              FaultInjector.Fault.status(500),
              -1));

      String repo = "test/realfault" + UUID.randomUUID().toString().substring(0, 8);
      PushOptions options =
          PushOptions.builder(faults.address(), repo).noSsl(true).maxRetry(1).build();
      PushReport report =
          PushRunner.push(
              options,
              new PushRunner(registry, key).environment(),
              List.of(outA.toString(), outB.toString()));

      assertTrue(!report.succeeded());
      assertEquals(1, report.count(PathOutcome.Status.PUSHED), report.summary().toString());
      assertEquals(1, report.count(PathOutcome.Status.FAILED), report.summary().toString());
      assertEquals(0, report.realisations());
      assertEquals(1, report.realisationFailures().size(), report.summary().toString());
      assertTrue(
          report
              .realisationFailures()
              .get(0)
              .startsWith("failed: realisation " + keyA.substring(13, keyA.length() - 4)),
          report.realisationFailures().toString());
      assertTrue(
          report.summary().get(0).contains("1 failed, 0 realisations (1 failed)"),
          report.summary().get(0));
      assertTrue(report.summary().contains(report.realisationFailures().get(0)));
      // B's realisation was never even tried.
      assertTrue(
          faults.requests().stream()
              .noneMatch(r -> r.contains(TagCodec.DEFAULT.writeTag(keyB).value())),
          faults.requests().toString());
      CacheReader cache = new CacheReader(registry, repo);
      assertTrue(cache.narInfo(outA).isPresent());
      assertTrue(cache.file(keyA).isEmpty());
      assertTrue(cache.file(keyB).isEmpty());
    }
  }
}
