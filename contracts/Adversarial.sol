// SPDX-License-Identifier: MIT
pragma solidity ^0.8.26;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

// Hostile tokens for tests: the gateway must refuse or flag them, never crash or mislead.

/// @notice An ERC-20 whose decimals() always reverts.
contract RevertingDecimalsToken is ERC20 {
    constructor(address holder) ERC20("Reverting Decimals", "RDEC") {
        _mint(holder, 1_000_000 * 10 ** 18);
    }

    function decimals() public pure override returns (uint8) {
        revert("decimals() is disabled");
    }
}

/// @notice An ERC-20 whose decimals() is 77, beyond any sane display range.
contract AbsurdDecimalsToken is ERC20 {
    constructor(address holder) ERC20("Absurd Decimals", "ABSD") {
        _mint(holder, 10 ** 76);
    }

    function decimals() public pure override returns (uint8) {
        return 77;
    }
}

/// @notice A USDC impostor: symbol "USDС" ends in a Cyrillic Es (U+0421), the name hides a zero-width space.
contract HomoglyphToken is ERC20 {
    constructor(address holder) ERC20(unicode"USD\u200B Coin", unicode"USD\u0421") {
        _mint(holder, 1_000_000 * 10 ** 6);
    }

    function decimals() public pure override returns (uint8) {
        return 6;
    }
}
