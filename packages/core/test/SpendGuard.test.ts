import { assert, describe, it } from "@effect/vitest"
import { FastCheck as fc, Option, Schema } from "effect"
import * as SpendGuard from "../src/SpendGuard.js"

const none: SpendGuard.Limits = {
  maxFeePerCheckpoint: Option.none(),
  bucketBudget: Option.none(),
  signerBudget: Option.none(),
  minimumBalance: Option.none()
}
const planck = fc.bigInt({ min: 0n, max: 10n ** 24n })

describe("SpendGuard: the spend guardrails' rules", () => {
  it.prop("with no limit set nothing is guarded and nothing refused", [planck, planck], ([estimate, free]) => {
    assert.isFalse(SpendGuard.guarded(none))
    assert.isTrue(Option.isNone(SpendGuard.checkFee(estimate, none)))
    assert.isTrue(Option.isNone(SpendGuard.checkBudgets(estimate, { bucket: free, signer: free }, none)))
    assert.isTrue(Option.isNone(SpendGuard.checkBalance(free, estimate, none)))
  })

  it.prop(
    "a fee above the cap is refused with both amounts; at the cap it pays",
    [planck, planck],
    ([estimate, cap]) => {
      const refused = SpendGuard.checkFee(estimate, { ...none, maxFeePerCheckpoint: Option.some(cap) })
      assert.strictEqual(Option.isSome(refused), estimate > cap)
      if (Option.isSome(refused)) assert.deepStrictEqual(refused.value, new SpendGuard.FeeAboveCap({ estimate, cap }))
    }
  )

  it.prop(
    "the bucket's budget is checked before the signer's; spent plus this fee may reach a budget, not pass it",
    [planck, planck, planck, planck, planck],
    ([estimate, bucketSpent, signerSpent, bucketBudget, signerBudget]) => {
      const refused = SpendGuard.checkBudgets(estimate, { bucket: bucketSpent, signer: signerSpent }, {
        bucketBudget: Option.some(bucketBudget),
        signerBudget: Option.some(signerBudget)
      })
      const expected = bucketSpent + estimate > bucketBudget
        ? Option.some(
          new SpendGuard.BudgetExhausted({ scope: "bucket", spent: bucketSpent, estimate, budget: bucketBudget })
        )
        : signerSpent + estimate > signerBudget
        ? Option.some(
          new SpendGuard.BudgetExhausted({ scope: "signer", spent: signerSpent, estimate, budget: signerBudget })
        )
        : Option.none()
      assert.deepStrictEqual(refused, expected)
    }
  )

  it.prop(
    "the balance less this fee may fall to the minimum, not below it",
    [planck, planck, planck],
    ([free, estimate, minimum]) => {
      const refused = SpendGuard.checkBalance(free, estimate, { ...none, minimumBalance: Option.some(minimum) })
      assert.strictEqual(Option.isSome(refused), free - estimate < minimum)
    }
  )

  it("a refusal encodes its amounts as decimal strings and reads back the same; its words use the formatter", () => {
    const refusal = new SpendGuard.BudgetExhausted({ scope: "signer", spent: 3n, estimate: 2n, budget: 4n })
    const encoded = Schema.encodeSync(SpendGuard.SpendRefusal)(refusal)
    assert.deepStrictEqual(encoded, {
      _tag: "BudgetExhausted",
      scope: "signer",
      spent: "3",
      estimate: "2",
      budget: "4"
    })
    assert.deepStrictEqual(Schema.decodeUnknownSync(SpendGuard.SpendRefusal)(encoded), refusal)
    assert.strictEqual(
      SpendGuard.describe(new SpendGuard.FeeAboveCap({ estimate: 1359n, cap: 1n }), { format: (p) => `${p} u` }),
      "the checkpoint's fee is estimated at 1359 u, above the cap of 1 u"
    )
    assert.include(SpendGuard.describe(refusal), "3 planck")
  })
})
