/**
 * The test harness every module's tests use: real components, nothing mocked.
 *
 * <ul>
 *   <li>{@link dev.oranc.testkit.Registry}: a real CNCF distribution registry on loopback in three
 *       {@link dev.oranc.testkit.RegistryFlavour}s (anonymous, htpasswd, Docker tokens from a
 *       harness token service), with a counting proxy, its access log, token counters and a {@link
 *       dev.oranc.testkit.RawClient} for seeding; {@link dev.oranc.testkit.RegistryExtension} runs
 *       registries per test class.
 *   <li>{@link dev.oranc.testkit.Nix}: real Nix 2.8, offline and unsandboxed: throwaway store paths
 *       (deleted again, exactly those), signing keys, CLI runs with clear failures.
 *   <li>{@link dev.oranc.testkit.LeakCheck}: Netty leak reports fail the test class; registered
 *       with {@link dev.oranc.testkit.TestLogs} for every test class by service loader.
 *   <li>{@link dev.oranc.testkit.ExternalProcess} and {@link dev.oranc.testkit.TestLogs}: programs
 *       started for a test, logging under {@code target/test-logs/<TestClass>/}, stopped by PID,
 *       and never outliving the test JVM.
 * </ul>
 */
package dev.oranc.testkit;
