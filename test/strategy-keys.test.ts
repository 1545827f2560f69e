/**
 * Each strategy's declared keys (the reference's table) against its parser: the keys it accepts,
 * the ones it requires, and what it takes for one left out. In-process, pure.
 */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { BadInputError } from '../src/errors.js';
import { parseStrategy, STRATEGIES, STRATEGY_KINDS } from '../src/strategies/index.js';

/** The usage without its optional parts: `nats:ping=5s,maxout=2`. */
const requiredForm = (usage: string): string => usage.replace(/\[[^\]]*\]/g, '');

/** The message parseStrategy throws for `text`. */
function refusal(text: string): string {
  try {
    parseStrategy(text);
  } catch (err) {
    assert.ok(err instanceof BadInputError, `${text}: ${String(err)}`);
    return err.message;
  }
  assert.fail(`${text} was accepted`);
}

describe('strategy keys, as declared for the reference', () => {
  for (const kind of STRATEGY_KINDS) {
    const def = STRATEGIES[kind];
    const example = requiredForm(def.usage);
    const body = example.includes(':') ? example.slice(example.indexOf(':') + 1) : '';

    it(`${kind}: the keys parse accepts are the keys declared, in order`, () => {
      const declared = def.keys.map((k) => k.key);
      if (declared.length === 0) {
        // No key=value at all: the usage shows none, and a key is refused.
        assert.ok(!def.usage.includes('='), def.usage);
        assert.match(refusal(`${kind}:zz=1`), /zz=1|takes no options|duration/);
        return;
      }
      const m = /is not one of (.*)$/.exec(refusal(`${example},zz=1`));
      assert.ok(m, `${kind}: an unknown key is refused, naming the keys`);
      assert.deepEqual(
        m[1]!.split(', ').map((k) => k.replace(/=$/, '')),
        declared,
      );
    });

    it(`${kind}: the required keys are the ones its usage writes outside [...]`, () => {
      const inForm = body === '' ? [] : body.split(',').map((kv) => kv.split('=')[0]);
      const required = def.keys.filter((k) => k.required).map((k) => k.key);
      if (def.keys.length > 0) assert.deepEqual(inForm, required);
      assert.equal(parseStrategy(example).kind, kind, `${example} parses`);
      for (const key of required) {
        // Another key in its place where it was the only one, so that the body is not empty.
        const filler = def.keys.find((k) => k.default !== undefined);
        const without = [
          ...body.split(',').filter((kv) => !kv.startsWith(`${key}=`)),
          ...(filler ? [`${filler.key}=${filler.default}`] : []),
        ].join(',');
        assert.match(refusal(`${kind}:${without}`), new RegExp(`missing '${key}='`));
      }
    });

    it(`${kind}: a key left out is the same as its declared default`, () => {
      for (const k of def.keys.filter((k) => k.default !== undefined)) {
        assert.ok(!k.required, `${kind} ${k.key}: a required key has no default`);
        assert.deepEqual(
          parseStrategy(`${example},${k.key}=${k.default}`),
          parseStrategy(example),
          `${kind}: ${k.key}=${k.default}`,
        );
      }
    });
  }

  it('a wrong default is caught', () => {
    // The check above must be able to fail: nats' wait is 2s, not 3s.
    assert.notDeepEqual(
      parseStrategy('nats:ping=5s,maxout=2,wait=3s'),
      parseStrategy('nats:ping=5s,maxout=2'),
    );
  });
});
