/**
 * GENERATED from oa_actors/usage/prices.json by `python -m oa_actors.usage.prices`:
 * do not edit. USD per million tokens, per model, dated (docs/usage.md).
 */
export type PriceEntry = {
  since: string;
  input?: number;
  cached_input?: number;
  cache_write?: number;
  output?: number;
};

export const PRICES: Record<string, PriceEntry[]> = {
  "claude-3-5-haiku": [
    {
      "cache_write": 1.0,
      "cached_input": 0.08,
      "input": 0.8,
      "output": 4.0,
      "since": "2024-11-04"
    }
  ],
  "claude-haiku-4-5": [
    {
      "cache_write": 1.25,
      "cached_input": 0.1,
      "input": 1.0,
      "output": 5.0,
      "since": "2025-10-15"
    }
  ],
  "claude-opus-4": [
    {
      "cache_write": 18.75,
      "cached_input": 1.5,
      "input": 15.0,
      "output": 75.0,
      "since": "2025-05-22"
    }
  ],
  "claude-opus-4-1": [
    {
      "cache_write": 18.75,
      "cached_input": 1.5,
      "input": 15.0,
      "output": 75.0,
      "since": "2025-08-05"
    }
  ],
  "claude-opus-4-5": [
    {
      "cache_write": 6.25,
      "cached_input": 0.5,
      "input": 5.0,
      "output": 25.0,
      "since": "2025-11-24"
    }
  ],
  "claude-sonnet-4": [
    {
      "cache_write": 3.75,
      "cached_input": 0.3,
      "input": 3.0,
      "output": 15.0,
      "since": "2025-05-22"
    }
  ],
  "claude-sonnet-4-5": [
    {
      "cache_write": 3.75,
      "cached_input": 0.3,
      "input": 3.0,
      "output": 15.0,
      "since": "2025-09-29"
    }
  ],
  "gpt-4.1": [
    {
      "cached_input": 0.5,
      "input": 2.0,
      "output": 8.0,
      "since": "2025-04-14"
    }
  ],
  "gpt-5": [
    {
      "cached_input": 0.125,
      "input": 1.25,
      "output": 10.0,
      "since": "2025-08-07"
    }
  ],
  "gpt-5-codex": [
    {
      "cached_input": 0.125,
      "input": 1.25,
      "output": 10.0,
      "since": "2025-09-15"
    }
  ],
  "gpt-5-mini": [
    {
      "cached_input": 0.025,
      "input": 0.25,
      "output": 2.0,
      "since": "2025-08-07"
    }
  ],
  "gpt-5-nano": [
    {
      "cached_input": 0.005,
      "input": 0.05,
      "output": 0.4,
      "since": "2025-08-07"
    }
  ],
  "gpt-5.1": [
    {
      "cached_input": 0.125,
      "input": 1.25,
      "output": 10.0,
      "since": "2025-11-13"
    }
  ],
  "gpt-5.1-codex": [
    {
      "cached_input": 0.125,
      "input": 1.25,
      "output": 10.0,
      "since": "2025-11-13"
    }
  ],
  "o3": [
    {
      "cached_input": 2.5,
      "input": 10.0,
      "output": 40.0,
      "since": "2025-04-16"
    },
    {
      "cached_input": 0.5,
      "input": 2.0,
      "output": 8.0,
      "since": "2025-06-10"
    }
  ],
  "o4-mini": [
    {
      "cached_input": 0.275,
      "input": 1.1,
      "output": 4.4,
      "since": "2025-04-16"
    }
  ]
};
