/**
 * Given / when / then for pure deciders, after Emmett's `DeciderSpecification`:
 *
 *   const spec = DeciderSpecification.for(decider, () => context);
 *   spec.given([created]).when(sendMessage).then([messageSent]);
 *   spec.given([created]).when(sendMessage).thenThrows('not_a_member');
 *
 * `given` events are folded with the decider's `evolve` from its initial state; `when` runs
 * `decide` once, with a fresh context from the factory (so id generators restart every test).
 */
export interface Decider<Command, Event, State, Context = void> {
  decide(command: Command, state: State, context: Context): readonly Event[];
  evolve(state: State, event: Event): State;
  initialState(): State;
}

/** What a decision produced, and the state after evolving it, for further assertions. */
export interface DecisionOutcome<Event, State> {
  readonly events: readonly Event[];
  readonly state: State;
}

/**
 * What `thenThrows` expects: a code (matched against the error's `reason`, then its `code`),
 * an error class, or nothing (any error).
 */
export type ExpectedError = string | (abstract new (...args: never[]) => Error);

export const DeciderSpecification = {
  for<Command, Event, State, Context>(
    decider: Decider<Command, Event, State, Context>,
    context?: () => Context,
  ): Given<Command, Event, State> {
    return {
      given(events) {
        const history = Array.isArray(events) ? (events as readonly Event[]) : [events as Event];
        return {
          when(command) {
            const decide = (): DecisionOutcome<Event, State> => {
              let state = history.reduce(decider.evolve, decider.initialState());
              const decided = decider.decide(command, state, context?.() as Context);
              for (const event of decided) state = decider.evolve(state, event);
              return { events: decided, state };
            };
            return thenFor(decide);
          },
        };
      },
    };
  },
};

export interface Given<Command, Event, State> {
  given(events: readonly Event[] | Event): When<Command, Event, State>;
}

export interface When<Command, Event, State> {
  when(command: Command): Then<Event, State>;
}

export interface Then<Event, State> {
  /** The decision is exactly these events (deep equality), or passes the assertion. */
  then(
    expected: readonly Event[] | ((outcome: DecisionOutcome<Event, State>) => void),
  ): DecisionOutcome<Event, State>;
  /** The decision is no events (an idempotent repeat, a no-op). */
  thenNothingHappened(): DecisionOutcome<Event, State>;
  /** The decision throws; `assert` may inspect the error further. */
  thenThrows(expected?: ExpectedError, assert?: (error: Error) => void): void;
}

function thenFor<Event, State>(decide: () => DecisionOutcome<Event, State>): Then<Event, State> {
  return {
    then(expected) {
      const outcome = decide();
      if (typeof expected === 'function') expected(outcome);
      else expect(outcome.events).toEqual(expected);
      return outcome;
    },
    thenNothingHappened() {
      const outcome = decide();
      expect(outcome.events).toEqual([]);
      return outcome;
    },
    thenThrows(expected, assert) {
      let outcome: DecisionOutcome<Event, State>;
      try {
        outcome = decide();
      } catch (error) {
        if (!(error instanceof Error)) throw error;
        if (typeof expected === 'string') {
          const { reason, code } = error as Error & { reason?: unknown; code?: unknown };
          expect(reason ?? code).toBe(expected);
        } else if (expected !== undefined) {
          const thrown = error.name;
          if (!(error instanceof expected)) {
            throw new Error(`expected ${expected.name}, but decide threw ${thrown}`, {
              cause: error,
            });
          }
        }
        assert?.(error);
        return;
      }
      throw new Error(`expected decide to throw, but it decided ${outcome.events.length} event(s)`);
    },
  };
}
