package dev.oranc.testkit;

import java.util.EnumMap;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;

/**
 * Registries for one test class: started before its first test, closed after its last.
 *
 * <pre>{@code
 * @RegisterExtension static final RegistryExtension registry = RegistryExtension.of(TOKEN);
 *
 * @Test void pushes() { Registry r = registry.get(); ... }   // or a Registry test parameter
 * }</pre>
 *
 * <p>For a test parameterised over flavours, {@link #all()} starts each flavour's registry the
 * first time a test asks for it, and closes them all after the class:
 *
 * <pre>{@code
 * @RegisterExtension static final RegistryExtension registries = RegistryExtension.all();
 *
 * @ParameterizedTest @EnumSource(RegistryFlavour.class)
 * void pushes(RegistryFlavour flavour) { Registry r = registries.get(flavour); ... }
 * }</pre>
 *
 * <p>A registry starts in well under a second, so there is no JVM-wide sharing: each class gets
 * fresh storage, counters and logs (under the class's name). Tests of one class share a registry;
 * use distinct repository names, or {@link Registry#resetCounters()} before counting.
 */
public final class RegistryExtension
    implements BeforeAllCallback, AfterAllCallback, ParameterResolver {

  private final Set<RegistryFlavour> flavours;
  private final boolean eager;
  private final Registry.Options options;
  private final Map<RegistryFlavour, Registry> started = new EnumMap<>(RegistryFlavour.class);
  private String className;
  private boolean active;

  private RegistryExtension(
      Set<RegistryFlavour> flavours, boolean eager, Registry.Options options) {
    this.flavours = flavours;
    this.eager = eager;
    this.options = Objects.requireNonNull(options, "options");
  }

  /** One registry of {@code flavour}, started in {@code beforeAll}. */
  public static RegistryExtension of(RegistryFlavour flavour) {
    return of(flavour, Registry.Options.DEFAULT);
  }

  public static RegistryExtension of(RegistryFlavour flavour, Registry.Options options) {
    return new RegistryExtension(Set.of(flavour), true, options);
  }

  /** A registry per flavour, each started when first asked for. */
  public static RegistryExtension all() {
    return all(Registry.Options.DEFAULT);
  }

  public static RegistryExtension all(Registry.Options options) {
    return new RegistryExtension(Set.of(RegistryFlavour.values()), false, options);
  }

  @Override
  public synchronized void beforeAll(ExtensionContext context) {
    className = context.getRequiredTestClass().getSimpleName();
    active = true;
    if (eager) {
      for (RegistryFlavour f : flavours) {
        get(f);
      }
    }
  }

  @Override
  public synchronized void afterAll(ExtensionContext context) {
    active = false;
    RuntimeException failure = null;
    for (Registry r : started.values()) {
      try {
        r.close();
      } catch (RuntimeException e) {
        if (failure == null) {
          failure = e;
        } else {
          failure.addSuppressed(e);
        }
      }
    }
    started.clear();
    if (failure != null) {
      throw failure;
    }
  }

  /** The registry, for an extension made by {@link #of}. */
  public synchronized Registry get() {
    if (flavours.size() != 1) {
      throw new IllegalStateException(
          "this extension has a registry per flavour: use get(flavour)");
    }
    return get(flavours.iterator().next());
  }

  /** The registry of {@code flavour}, started now if it is the first time. */
  public synchronized Registry get(RegistryFlavour flavour) {
    if (!flavours.contains(flavour)) {
      throw new IllegalArgumentException(
          "flavour: " + flavour + " (expected: one of " + flavours + ")");
    }
    if (!active) {
      throw new IllegalStateException(
          "no registry outside the test class (is the field static and @RegisterExtension?)");
    }
    return started.computeIfAbsent(
        flavour,
        f -> Registry.start(f, options.name() == null ? options.withName(className) : options));
  }

  @Override
  public boolean supportsParameter(ParameterContext parameter, ExtensionContext context) {
    return parameter.getParameter().getType() == Registry.class && flavours.size() == 1;
  }

  @Override
  public Object resolveParameter(ParameterContext parameter, ExtensionContext context) {
    return get();
  }
}
