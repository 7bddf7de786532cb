// SPDX-License-Identifier: MIT
pragma solidity ^0.8.26;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @notice A token whose name and symbol are whatever the test deploys it with: a prompt injection, line breaks,
/// bidi and zero-width characters. Wherever the gateway writes its own sentences (summaries, approval texts), such
/// text must appear only sanitized, quoted and marked as the token's words.
contract HostileTextToken is ERC20 {
    constructor(string memory name_, string memory symbol_, address holder) ERC20(name_, symbol_) {
        _mint(holder, 1_000_000 * 10 ** 6);
    }

    function decimals() public pure override returns (uint8) {
        return 6;
    }
}
