// SPDX-License-Identifier: MIT
pragma solidity ^0.8.26;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title Devnet WBTC
/// @notice An 8-decimal wrapped-bitcoin look-alike ("Wrapped BTC", "WBTC") for the devnet's BTC markets.
contract WBTC is ERC20 {
    /// @notice The account allowed to mint (the deployer).
    address public immutable minter;

    error NotMinter(address caller);

    constructor(address[] memory holders, uint256 amountEach) ERC20("Wrapped BTC", "WBTC") {
        minter = msg.sender;
        for (uint256 i = 0; i < holders.length; i++) {
            _mint(holders[i], amountEach);
        }
    }

    function decimals() public pure override returns (uint8) {
        return 8;
    }

    /// @notice Mints `amount` to `to`; only the deployer may mint.
    function mint(address to, uint256 amount) external {
        if (msg.sender != minter) revert NotMinter(msg.sender);
        _mint(to, amount);
    }
}
